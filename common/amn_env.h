/* SPDX-License-Identifier: MIT */
/*
 * common/amn_env.h - settings read from the environment, parsed one way for
 * the whole library.
 *
 * Numbers are decimal only (no 0x, no leading-zero octal), with optional
 * blanks (spaces, tabs) around them and nothing else. Switches take 0/1,
 * true/false, yes/no or on/off, in any case. Modes take one of a fixed list
 * of words, exactly as listed.
 *
 * A variable that is unset, empty or all blanks gives the caller's default,
 * silently. A bad value (trailing junk, a sign, overflow, a number outside
 * the caller's range, an unknown word) is not an error for the caller: it
 * gives the default too, and one line on stderr names the variable, the
 * value, what is wrong and the default used, e.g.
 *
 *   amanuensis: AMN_THREADS=4x: not a whole number; using the default 2
 *
 * That line is printed once per variable and value in a process, however
 * often the variable is read. Every function here may be called from any
 * thread (as getenv() may: as long as nothing calls setenv() meanwhile).
 */
#ifndef AMN_COMMON_ENV_H
#define AMN_COMMON_ENV_H

#include <stdbool.h>

/**
 * amn_parse_ulong - parse @s as a decimal number in [@min, @max].
 * @s:   the text; blanks around the digits are allowed.
 * @min: smallest value accepted.
 * @max: largest value accepted.
 * @out: receives the value on success; untouched otherwise.
 * Return: 0; -EINVAL when @s is not a whole number (empty, junk, a "+",
 * a base prefix); -ERANGE when it is one but lies outside [@min, @max]
 * (a negative number, or one too large for unsigned long, included).
 */
int amn_parse_ulong(const char *s, unsigned long min, unsigned long max,
		    unsigned long *out);

/**
 * amn_parse_bool - parse @s as a switch: 1/true/yes/on or 0/false/no/off,
 * in any case, with blanks around allowed.
 * @s:   the text.
 * @out: receives the value on success; untouched otherwise.
 * Return: 0, or -EINVAL for anything else (the empty string included).
 */
int amn_parse_bool(const char *s, bool *out);

/**
 * amn_env_ulong - the decimal number in $@name, within [@min, @max].
 * @name: the variable.
 * @min:  smallest value accepted.
 * @max:  largest value accepted.
 * @def:  the value when $@name is unset, empty or bad.
 * Return: the value, or @def (a bad value is reported once on stderr).
 */
unsigned long amn_env_ulong(const char *name, unsigned long min, unsigned long max,
			    unsigned long def);

/**
 * amn_env_bool - the switch in $@name (see amn_parse_bool()).
 * @name: the variable.
 * @def:  the value when $@name is unset, empty or bad.
 * Return: the value, or @def (a bad value is reported once on stderr).
 */
bool amn_env_bool(const char *name, bool def);

/**
 * amn_env_choice - which word of @choices $@name holds.
 * @name:    the variable.
 * @choices: the accepted words, NULL-terminated; compared exactly, after
 *           the blanks around the value are dropped.
 * @def:     index into @choices used when $@name is unset, empty or bad.
 * Return: the index of the word, or @def (a bad value is reported once on
 * stderr, with the accepted words).
 */
int amn_env_choice(const char *name, const char *const *choices, int def);

#endif /* AMN_COMMON_ENV_H */
