/* SPDX-License-Identifier: MIT */
/*
 * tests/test_ring_model.c - the spin model checker's verdict on the ring's
 * sleep handshakes (tests/model/ring_doorbell.pml and ring_space.pml, run by
 * tests/model/check_ring.sh): no lost wakeup with the fences, one found with
 * a fence removed. Skipped where spin is not installed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "tests/helpers/test_env.h"

/* check_ring.sh's exit status when spin or a C compiler is missing. */
#define CHECK_SKIPPED 77

Test(ring_model, sleep_handshakes)
{
	const char *dir = test_env_or("AMN_SPIN_MODEL_DIR", "tests/model");
	char cmd[512];
	int status;

	snprintf(cmd, sizeof(cmd), "sh '%s/check_ring.sh' '%s'", dir, dir);
	status = system(cmd);
	cr_assert(status != -1 && WIFEXITED(status), "could not run %s", cmd);
	if (WEXITSTATUS(status) == CHECK_SKIPPED)
		cr_skip_test("spin is not installed (apt-get install spin)");
	cr_expect_eq(WEXITSTATUS(status), 0, "%s failed", cmd);
}
