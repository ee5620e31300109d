#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
tools/whisper_normalizer.py - English text normalisation for WER scoring,
following the documented behaviour of openai-whisper's EnglishTextNormalizer
(whisper/normalizers/english.py), written here so that scoring does not pull
in openai-whisper and torch.

normalize(text) applies, in this order:
  1. lowercase;
  2. drop text in <angle> or [square] brackets and in (parentheses);
  3. drop the fillers hmm, mm, mhm, mmm, uh, um;
  4. glue a space before an apostrophe to it, expand contractions
     (won't -> will not, can't -> can not, n't -> not, 're -> are, 's -> is,
     'd -> would, 'll -> will, 've -> have, 'm -> am, 'd been -> had been ...)
     and abbreviated titles (mr -> mister, dr -> doctor, st -> saint ...);
  5. drop commas between digits (1,000 -> 1000) and periods not followed by a
     digit;
  6. NFKD, strip combining marks, map the letters NFKD leaves (ø, æ, ß, ł ...),
     turn every other mark, symbol and punctuation into a space, except the
     numeric symbols . % $ ¢ € £;
  7. spelled-out numbers to digits (EnglishNumberNormalizer): "twenty one"
     -> 21, "nineteen ninety nine" -> 1999, "one hundred and five" -> 105,
     "two point five" -> 2.5, "first" -> 1st, "twenties" -> 20s, "double
     seven" -> 77, "five dollars" -> $5, "ten percent" -> 10%, "minus
     three" -> -3, "<n> and a half" -> n.5; a lone 1 is written "one";
  8. British -> American spellings (a subset of whisper's english.json, the
     BRITISH table below: -our, -re, -ise/-yse, doubled-l and other common
     words);
  9. drop the remaining . $ ¢ € £ not followed by a digit and % not preceded
     by one; collapse whitespace. One deliberate difference: a symbol at the
     very end is dropped too (openai's rule needs a character after it, so
     "regard..." would leave a lone "." word that WER counts as an insertion).

`python3 tools/whisper_normalizer.py --selftest` checks known input/output
pairs; without arguments it normalises stdin line by line.
"""
import re
import sys
import unicodedata
from fractions import Fraction

FILLERS = r"\b(hmm|mm|mhm|mmm|uh|um)\b"

REPLACEMENTS = [
    # whole-word contractions first
    (r"\bwon't\b", "will not"), (r"\bcan't\b", "can not"), (r"\blet's\b", "let us"),
    (r"\bain't\b", "aint"), (r"\by'all\b", "you all"), (r"\bwanna\b", "want to"),
    (r"\bgotta\b", "got to"), (r"\bgonna\b", "going to"), (r"\bi'ma\b", "i am going to"),
    (r"\bimma\b", "i am going to"), (r"\bwoulda\b", "would have"),
    (r"\bcoulda\b", "could have"), (r"\bshoulda\b", "should have"), (r"\bma'am\b", "madam"),
    # abbreviated titles
    (r"\bmr\b", "mister "), (r"\bmrs\b", "missus "), (r"\bst\b", "saint "),
    (r"\bdr\b", "doctor "), (r"\bprof\b", "professor "), (r"\bcapt\b", "captain "),
    (r"\bgov\b", "governor "), (r"\bald\b", "alderman "), (r"\bgen\b", "general "),
    (r"\bsen\b", "senator "), (r"\brep\b", "representative "), (r"\bpres\b", "president "),
    (r"\brev\b", "reverend "), (r"\bhon\b", "honorable "), (r"\basst\b", "assistant "),
    (r"\bassoc\b", "associate "), (r"\blt\b", "lieutenant "), (r"\bcol\b", "colonel "),
    (r"\bjr\b", "junior "), (r"\bsr\b", "senior "), (r"\besq\b", "esquire "),
    # perfect tenses
    (r"'d been\b", " had been"), (r"'s been\b", " has been"), (r"'d gone\b", " had gone"),
    (r"'s gone\b", " has gone"), (r"'d done\b", " had done"), (r"'s got\b", " has got"),
    # the general suffixes
    (r"n't\b", " not"), (r"'re\b", " are"), (r"'s\b", " is"), (r"'d\b", " would"),
    (r"'ll\b", " will"), (r"'t\b", " not"), (r"'ve\b", " have"), (r"'m\b", " am"),
]

# Letters NFKD does not decompose into base + combining mark.
LETTER_MAP = {
    "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ẞ": "SS",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "th", "ł": "l", "Ł": "L",
}

# British -> American: a documented subset of whisper's english.json.
BRITISH = {w: a for w, a in (p.split(":") for p in """
colour:color colours:colors coloured:colored colourful:colorful favour:favor favours:favors
favourite:favorite favourites:favorites favourable:favorable honour:honor honours:honors
honoured:honored honourable:honorable humour:humor labour:labor labours:labors
laboured:labored neighbour:neighbor neighbours:neighbors neighbourhood:neighborhood
behaviour:behavior behaviours:behaviors harbour:harbor harbours:harbors odour:odor
rumour:rumor rumours:rumors savour:savor vapour:vapor vigour:vigor endeavour:endeavor
endeavours:endeavors flavour:flavor flavours:flavors armour:armor glamour:glamor
parlour:parlor valour:valor splendour:splendor tumour:tumor fervour:fervor rigour:rigor
centre:center centres:centers centred:centered theatre:theater theatres:theaters
metre:meter metres:meters litre:liter litres:liters fibre:fiber fibres:fibers
calibre:caliber sombre:somber spectre:specter lustre:luster meagre:meager sabre:saber
manoeuvre:maneuver manoeuvres:maneuvers organise:organize organised:organized
organises:organizes organising:organizing organisation:organization
organisations:organizations realise:realize realised:realized realises:realizes
realising:realizing recognise:recognize recognised:recognized recognises:recognizes
apologise:apologize apologised:apologized criticise:criticize criticised:criticized
emphasise:emphasize emphasised:emphasized summarise:summarize summarised:summarized
specialise:specialize specialised:specialized civilisation:civilization
characterise:characterize authorise:authorize authorised:authorized
prioritise:prioritize memorise:memorize minimise:minimize maximise:maximize
utilise:utilize utilised:utilized finalise:finalize standardise:standardize
analyse:analyze analysed:analyzed analyses:analyzes analysing:analyzing
paralyse:paralyze paralysed:paralyzed catalyse:catalyze
travelled:traveled travelling:traveling traveller:traveler travellers:travelers
cancelled:canceled cancelling:canceling labelled:labeled labelling:labeling
modelled:modeled modelling:modeling levelled:leveled fuelled:fueled
signalled:signaled counsellor:counselor jewellery:jewelry marvellous:marvelous
quarrelled:quarreled woollen:woolen enrolment:enrollment fulfil:fulfill
fulfilment:fulfillment instalment:installment skilful:skillful wilful:willful
defence:defense offence:offense licence:license pretence:pretense
grey:gray greys:grays programme:program programmes:programs catalogue:catalog
catalogues:catalogs dialogue:dialog analogue:analog cheque:check cheques:checks
tyre:tire tyres:tires plough:plow ploughs:plows draught:draft draughts:drafts
aluminium:aluminum mum:mom mould:mold moulds:molds smoulder:smolder moustache:mustache
pyjamas:pajamas sceptical:skeptical sceptic:skeptic aeroplane:airplane aeroplanes:airplanes
judgement:judgment ageing:aging acknowledgement:acknowledgment storey:story storeys:stories
kerb:curb gaol:jail artefact:artifact encyclopaedia:encyclopedia paediatric:pediatric
anaemia:anemia oestrogen:estrogen foetus:fetus manoeuvring:maneuvering
""".split())}

ONES = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
ONES_PLURAL = {("sixes" if w == "six" else w + "s"): (n, "s") for w, n in ONES.items() if w != "one"}
ONES_ORDINAL = {"first": (1, "st"), "second": (2, "nd"), "third": (3, "rd"), "fifth": (5, "th"),
                "eighth": (8, "th"), "ninth": (9, "th"), "twelfth": (12, "th")}
for _w, _n in ONES.items():
    if _n > 3 and _w + "th" not in ONES_ORDINAL and _n not in (5, 8, 9, 12):
        ONES_ORDINAL[_w + "th"] = (_n, "th")
TENS = {w: 10 * (i + 2) for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split())}
TENS_PLURAL = {w[:-1] + "ies": (n, "s") for w, n in TENS.items()}
TENS_ORDINAL = {w[:-1] + "ieth": (n, "th") for w, n in TENS.items()}
MULTIPLIERS = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9,
               "trillion": 10**12, "quadrillion": 10**15, "quintillion": 10**18,
               "sextillion": 10**21, "septillion": 10**24, "octillion": 10**27,
               "nonillion": 10**30, "decillion": 10**33}
MULT_PLURAL = {w + "s": (n, "s") for w, n in MULTIPLIERS.items()}
MULT_ORDINAL = {w + "th": (n, "th") for w, n in MULTIPLIERS.items()}
SIGN_WORDS = {"minus": "-", "negative": "-", "plus": "+", "positive": "+"}
CURRENCY_WORDS = {"pound": "£", "pounds": "£", "euro": "€", "euros": "€",
                  "dollar": "$", "dollars": "$", "cent": "¢", "cents": "¢"}
PREFIX_CHARS = "-+$£€¢"
DIGITS_RE = re.compile(r"^\d+(\.\d+)?$")

NUMBER_WORDS = (set(ONES) | set(ONES_PLURAL) | set(ONES_ORDINAL) | set(TENS) | set(TENS_PLURAL)
                | set(TENS_ORDINAL) | set(MULTIPLIERS) | set(MULT_PLURAL) | set(MULT_ORDINAL))


def _is_numeric(word):
    if word is None:
        return False
    w = word[1:] if word[:1] in PREFIX_CHARS else word
    return w in NUMBER_WORDS or bool(DIGITS_RE.match(w))


class _Numbers:
    """Left-to-right state machine: value is None, an int, or a digit string."""

    def __init__(self):
        self.out = []
        self.value = None
        self.prefix = ""

    def flush(self, suffix=""):
        """Emit the number being built; a sign waiting for its number stays."""
        if self.value is not None:
            self.out.append(f"{self.prefix}{self.value}{suffix}")
            self.prefix = ""
        self.value = None

    def start(self, pre):
        """A number word: a new number takes the symbol written before it."""
        if self.value is None and pre:
            self.prefix = pre

    def add_ones(self, n, prev):
        v = self.value
        if v is None:
            self.value = n
        elif isinstance(v, str) or prev in ONES:
            if prev in TENS and n < 10 and str(v).endswith("0"):
                self.value = str(v)[:-1] + str(n)
            else:
                self.value = f"{v}{n}"
        elif n < 10:
            self.value = v + n if v % 10 == 0 else f"{v}{n}"
        else:
            self.value = v + n if v % 100 == 0 else f"{v}{n}"

    def add_tens(self, n):
        v = self.value
        if v is None:
            self.value = n
        elif isinstance(v, str):
            self.value = f"{v}{n}"
        else:
            self.value = v + n if v % 100 == 0 else f"{v}{n}"

    def add_multiplier(self, n):
        v = self.value
        if v is None:
            self.value = n
        elif isinstance(v, str) or v == 0:
            p = Fraction(v) * n if not str(v).endswith(".") else None
            if p is not None and p.denominator == 1:
                self.value = int(p)
            else:
                self.flush()
                self.value = n
        else:
            self.value = v // 1000 * 1000 + (v % 1000) * n


def standardize_numbers(s):
    """Spelled-out numbers to digits (step 7 of normalize())."""
    # "<number> and a half" -> "<number> point five"
    parts = re.split(r"\band\s+a\s+half\b", s)
    joined = parts[0]
    for part in parts[1:]:
        last = joined.split()[-1] if joined.split() else ""
        joined += (" point five " if last in ONES or last in TENS or last in MULTIPLIERS
                   else " and a half ") + part
    s = joined
    s = re.sub(r"([a-z])([0-9])", r"\1 \2", s)
    s = re.sub(r"([0-9])([a-z])", r"\1 \2", s)
    s = re.sub(r"([0-9])\s+(st|nd|rd|th|s)\b", r"\1\2", s)

    words = s.split()
    st = _Numbers()
    skip = False
    for i, w in enumerate(words):
        if skip:
            skip = False
            continue
        prev = words[i - 1] if i > 0 else None
        nxt = words[i + 1] if i + 1 < len(words) else None
        pre = ""
        core = w
        if w[:1] in PREFIX_CHARS and len(w) > 1 and _is_numeric(w):
            pre, core = w[0], w[1:]

        if DIGITS_RE.match(core):
            if isinstance(st.value, str) and st.value.endswith("."):
                st.value += core
                continue
            st.flush()
            st.start(pre)
            f = Fraction(core)
            st.value = f.numerator if f.denominator == 1 else core
        elif core in ONES:
            st.start(pre)
            st.add_ones(ONES[core], prev)
        elif core in ONES_PLURAL or core in ONES_ORDINAL:
            n, suf = ONES_PLURAL.get(core) or ONES_ORDINAL[core]
            st.start(pre)
            st.add_ones(n, prev)
            st.flush(suf)
        elif core in TENS:
            st.start(pre)
            st.add_tens(TENS[core])
        elif core in TENS_PLURAL or core in TENS_ORDINAL:
            n, suf = TENS_PLURAL.get(core) or TENS_ORDINAL[core]
            st.start(pre)
            st.add_tens(n)
            st.flush(suf)
        elif core in MULTIPLIERS:
            st.start(pre)
            st.add_multiplier(MULTIPLIERS[core])
        elif core in MULT_PLURAL or core in MULT_ORDINAL:
            n, suf = MULT_PLURAL.get(core) or MULT_ORDINAL[core]
            st.start(pre)
            st.add_multiplier(n)
            st.flush(suf)
        elif w in SIGN_WORDS and st.value is None and _is_numeric(nxt):
            st.prefix = SIGN_WORDS[w]    # waits for the number that follows
        elif w in CURRENCY_WORDS and st.value is not None:
            st.prefix = CURRENCY_WORDS[w] + st.prefix.lstrip("$£€¢")
            st.flush()
        elif w == "percent" and st.value is not None:
            st.flush("%")
        elif w == "per" and nxt == "cent" and st.value is not None:
            st.flush("%")
            skip = True
        elif w == "and" and st.value is not None and prev in MULTIPLIERS and \
                (nxt in ONES or nxt in TENS or nxt in ONES_ORDINAL or nxt in TENS_ORDINAL):
            continue
        elif w in ("double", "triple") and nxt in ONES and st.value is None:
            st.value = str(ONES[nxt]) * (2 if w == "double" else 3)
            skip = True
        elif w in ("double", "triple") and nxt in ONES and isinstance(st.value, (int, str)):
            st.value = f"{st.value}{str(ONES[nxt]) * (2 if w == 'double' else 3)}"
            skip = True
        elif w == "point" and st.value is not None and \
                (nxt in ONES or (nxt is not None and nxt.isdigit())):
            st.value = f"{st.value}."
        else:
            st.flush()
            st.out.append(w)
    st.flush()

    s = " ".join(st.out)

    def cents(m):
        return f"{m.group(1)}{m.group(2)}.{int(m.group(3)):02d}"
    s = re.sub(r"([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})\b", cents, s)
    s = re.sub(r"[€£$]0\.([0-9]{1,2})\b", lambda m: f"¢{int(m.group(1))}", s)
    s = re.sub(r"\b1(s?)\b", r"one\1", s)
    return s


def remove_symbols(s, keep=".%$¢€£"):
    """Step 6: strip diacritics, symbols and punctuation to spaces, keeping @keep."""
    out = []
    for c in unicodedata.normalize("NFKD", s):
        if c in keep:
            out.append(c)
        elif c in LETTER_MAP:
            out.append(LETTER_MAP[c])
        else:
            cat = unicodedata.category(c)
            if cat == "Mn":
                continue
            out.append(" " if cat[0] in "MSP" else c)
    return "".join(out)


def normalize(s):
    """Normalise English text the way openai-whisper's EnglishTextNormalizer does."""
    s = s.lower()
    s = re.sub(r"[<\[][^>\]]*[>\]]", "", s)
    s = re.sub(r"\(([^)]+?)\)", "", s)
    s = re.sub(FILLERS, "", s)
    s = re.sub(r"\s+'", "'", s)
    for pat, rep in REPLACEMENTS:
        s = re.sub(pat, rep, s)
    s = re.sub(r"(\d),(\d)", r"\1\2", s)
    s = re.sub(r"\.([^0-9]|$)", r" \1", s)
    s = remove_symbols(s)
    s = standardize_numbers(s)
    s = " ".join(BRITISH.get(w, w) for w in s.split())
    s = re.sub(r"[.$¢€£]([^0-9]|$)", r" \1", s)
    s = re.sub(r"([^0-9])%", r"\1 ", s)
    return re.sub(r"\s+", " ", s).strip()


SELFTEST = [
    ("And so my fellow Americans, ask not what your country can do for you.",
     "and so my fellow americans ask not what your country can do for you"),
    ("We are sure that one war is enough.", "we are sure that one war is enough"),
    ("Drop the two when you add the figures.", "drop the 2 when you add the figures"),
    ("Uh, I think [MUSIC] it's (laughs) fine, um.", "i think it is fine"),
    ("I can't and won't, y'all.", "i can not and will not you all"),
    ("He'd been there; she's got it; they're sure.", "he had been there she has got it they are sure"),
    ("Mr. Smith met Dr. Jones on St. James street.", "mister smith met doctor jones on saint james street"),
    ("twenty one", "21"),
    ("nineteen ninety nine", "1999"),
    ("one hundred and five people", "105 people"),
    ("two thousand and twenty", "2020"),
    ("three point five", "3.5"),
    ("the first and the twenty first century", "the 1st and the 21st century"),
    ("in the twenties", "in the 20s"),
    ("five dollars", "$5"),
    ("ten percent", "10%"),
    ("1,000 people paid $5.50", "1000 people paid $5.50"),
    ("two and a half", "2.5"),
    ("double seven", "77"),
    ("minus three degrees", "-3 degrees"),
    ("one million two hundred thousand", "1200000"),
    ("The colour of the theatre was grey.", "the color of the theater was gray"),
    ("Café naïve façade, Ærø straße", "cafe naive facade aero strasse"),
    ("Unless a system is established for the frequent formal review of activities thereunder. "
     "In this regard", "unless a system is established for the frequent formal review of "
     "activities thereunder in this regard"),
    ("  lots   of\tspace  ", "lots of space"),
    ("What? No -- really!", "what no really"),
    ("In this regard...", "in this regard"),
    ("It costs $5.", "it costs $5"),
]


def selftest():
    bad = 0
    for text, want in SELFTEST:
        got = normalize(text)
        if got != want:
            bad += 1
            print(f"FAIL: {text!r}\n  want {want!r}\n  got  {got!r}")
    print(f"whisper_normalizer: {len(SELFTEST) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(selftest())
    if len(sys.argv) > 1:
        print("usage: whisper_normalizer.py [--selftest] < text", file=sys.stderr)
        sys.exit(2)
    for line in sys.stdin:
        print(normalize(line))
