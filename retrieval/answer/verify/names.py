"""Names of places and people in an answer sentence, and whether a source sentence (in either script) states them.

Places come from a gazetteer: every country and region CLDR names in English and Arabic (through babel), the
cities CLDR uses for time zones, a few more cities of the region, and English demonyms; Arabic demonyms are
derived ("تركيا" -> "تركي", "التركية"). A place is found whatever its case ("israel") and even when it is also a
dictionary word ("Turkey", "China", "Jordan"), as long as a dictionary word is capitalised ("turkey" is a bird).
People are found as capitalised words that are not dictionary words ("Kadhimi"), capitalised dictionary words
inside a sentence that are not words English capitalises in titles and institutions ("Bush", not "Minister"),
and, in Arabic, the words after a title ("الرئيس", "الجنرال"). Across scripts, names are compared by consonant
skeleton: both scripts are mapped to coarse sound classes, vowels dropped, so "Kadhimi"/"الكاظمي" and
"Shamkhani"/"شمخاني" meet and an invented "Moscow" finds no "موسكو" to meet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from retrieval.text.arabic import ARABIC_LETTER, normalize
from retrieval.text.numbers import CALENDAR_WORDS

# ---- consonant skeletons -------------------------------------------------------------------------------

_LATIN_DIGRAPHS = (("sh", "s"), ("th", "t"), ("dh", "d"), ("kh", "h"), ("gh", "g"), ("ph", "f"), ("ch", "k"))
_SOUND_CLASSES = {  # class: (Latin letters, Arabic letters)
    "b": ("bp", "بپ"),
    "t": ("td", "تدطض"),
    "s": ("sz", "سزشص"),
    "*": ("", "ثذظ"),  # th/s, dh/z, dh/z: either of t and s
    "k": ("kgjqxc", "جغقكگچ"),
    "h": ("h", "حخه"),
    "f": ("fv", "ف"),
    "l": ("l", "ل"),
    "m": ("m", "م"),
    "n": ("n", "ن"),
    "r": ("r", "ر"),
}
_LATIN_CLASS = str.maketrans(
    {c: cls for cls, (latin, _) in _SOUND_CLASSES.items() for c in latin} | {c: None for c in "aeiouwy'’-"}
)
_ARABIC_CLASS = str.maketrans(
    {c: cls for cls, (_, arabic) in _SOUND_CLASSES.items() for c in arabic}
    | {c: None for c in "اأإآىءؤئعويةـ"}
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")  # "al-Kadhimi" gives "al" and "Kadhimi"
_AR_WORD = re.compile(r"[\u0621-\u064a\u0671-\u06d3\u06fa-\u06ff]+")


def _squeeze(skeleton: str) -> str:
    return re.sub(r"(.)\1+", r"\1", skeleton)


def latin_skeleton(word: str) -> str:
    word = re.sub(r"['’]s$", "", word.casefold())
    for digraph, cls in _LATIN_DIGRAPHS:
        word = word.replace(digraph, cls)
    return _squeeze(word.translate(_LATIN_CLASS))


def _variants(skeleton: str) -> list[str]:
    """Each reading of the letters that transliterate as either t or s (ث ذ ظ), at most three of them."""
    out = [skeleton]
    for _ in range(min(3, skeleton.count("*"))):
        out = [v.replace("*", c, 1) for v in out for c in "ts"]
    return [v.replace("*", "t") for v in out]


def _stripped(word: str) -> set[str]:
    """An Arabic word with and without the prefixes it may carry: a conjunction (و ف), a preposition (ب ل ك),
    the article ("وبالعراق" -> "بالعراق", "العراق", "عراق")."""
    forms = {word}
    for group in (("و", "ف"), ("ب", "ل", "ك"), ("ال",)):
        forms |= {f[len(p) :] for f in forms for p in group if f.startswith(p) and len(f) > len(p) + 1}
    if word.startswith(("لل", "ولل", "فلل")):  # "للعراق" = ل + العراق
        rest = word.split("لل", 1)[1]
        forms |= {"ال" + rest, rest}
    return forms


@cache
def arabic_skeletons(text: str) -> frozenset[str]:
    """Skeletons of every word of an Arabic text (with and without its prefixes) and of adjacent pairs."""
    words = _AR_WORD.findall(normalize(text))
    per_word = []
    for word in words:
        per_word.append(
            {_squeeze(v) for f in _stripped(word) for v in _variants(f.rstrip("ه").translate(_ARABIC_CLASS))}
        )
    found = set().union(*per_word) if per_word else set()
    for left, right in pairwise(per_word):
        found |= {_squeeze(a + b) for a in left for b in right}
    return frozenset(found)


def _close(a: str, b: str) -> bool:
    """Equal, or one edit apart for skeletons of four letters or more."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4 or abs(len(a) - len(b)) > 1:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] <= 1


def sounds_in(name: str, evidence: str, strict: bool = False) -> bool:
    """Whether a Latin-script name is in the evidence: as written (any case), or by sound in Arabic script.

    A skeleton shorter than three sounds ("Ali", "Isaac") cannot be told apart from common words: it counts as
    found, unless `strict`, when it must be the skeleton of a whole word of the evidence ("Bush" = "بوش").
    """
    if re.search(rf"(?<![A-Za-z]){re.escape(name.casefold())}", evidence.casefold()):
        return True
    skeleton = latin_skeleton(name)
    if len(skeleton) < 3:
        return not strict or not skeleton or skeleton in _word_skeletons(evidence)
    return any(_close(skeleton, s) for s in arabic_skeletons(evidence))


@cache
def _word_skeletons(text: str) -> frozenset[str]:
    return frozenset(
        _squeeze(v)
        for word in _AR_WORD.findall(normalize(text))
        for f in _stripped(word)
        for v in _variants(f.rstrip("ه").translate(_ARABIC_CLASS))
    )


# ---- the English dictionary -----------------------------------------------------------------------------


@cache
def _dictionary() -> tuple[frozenset[str], frozenset[str]]:
    """Webster's 2nd: its lower-case words, and its capitalised entries (proper nouns: "Paris", "Iran")."""
    from english_words import get_english_words_set

    words = get_english_words_set(["web2"], lower=False, alpha=True)
    return frozenset(w for w in words if w.islower()), frozenset(w for w in words if not w.islower())


def is_common_word(word: str) -> bool:
    """A lower-case dictionary word, or the plural of one ("Highways" via "highway")."""
    common, _ = _dictionary()
    lower = word.casefold()
    if lower in common:
        return True
    singulars = {lower[:-1]} if lower.endswith("s") else set()
    if lower.endswith("es"):
        singulars.add(lower[:-2])
    if lower.endswith("ies"):
        singulars.add(lower[:-3] + "y")
    return bool(singulars & common)


# Words English capitalises in titles, offices, institutions and generic parts of proper names, which an
# Arabic source translates rather than transliterates: never checked as names on their own.
_TITLE_WORDS = frozenset(
    """
    president presidential prime minister ministers ministry foreign interior defence defense affairs council
    security national supreme guard guards revolutionary force forces army navy air party front league union
    united states nations republic islamic arab arabian kingdom government parliament assembly court agency news
    committee organization organisation commission bank zone green general commander lieutenant colonel major
    captain king queen prince princess sheikh emir imam secretary spokesman spokeswoman spokesperson embassy office
    department senator governor mayor judge justice chief director leader speaker state house senate congress
    white black red blue sea gulf river mountain mountains lake island islands north south east west northern
    southern eastern western central middle great new old saint university college school institute museum church
    mosque hospital airport street road square palace tower bridge park centre center company corporation group
    brigade brigades battalion division corps movement network international federal democratic popular
    mobilization mobilisation unit units police intelligence directorate authority administration province
    governorate district city county region territory territories capital coast valley desert ocean empire dynasty
    age revolution crisis program programme project operation mission basin peninsula strait canal port harbour
    fort day week year war world cup prize award act law treaty agreement accord conference summit forum festival
    games olympic olympics championship club team bowl super cabinet station service services official officials
    agency press media television radio channel times post herald daily journal magazine report reports statement
    council council's holy grand high upper lower greater little first second third fourth fifth sixth sev
    royal imperial federation alliance coalition opposition resistance liberation independence freedom justice
    development reconstruction commerce trade finance economy economic energy oil petroleum water health education
    culture information communications transport labour labor youth sports women human rights peace victory
    martyrs martyr brotherhood muslim muslims christian christians jewish jews sunni shia shiite shiites catholic
    orthodox protestant party's minister's president's mr mrs ms dr sir lord lady his her their excellency
    """.split()
)


# ---- places -------------------------------------------------------------------------------------------------

# English names CLDR does not use, and Arabic names it does not, by territory code.
_EN_ALIASES = {  # "|" separates names
    "TR": "Turkey|Turkiye",
    "US": "America|USA|United States|Washington",
    "GB": "Britain|UK|England|Great Britain",
    "AE": "UAE|Emirates",
    "SA": "Saudi",
    "KR": "South Korea|",
    "KP": "North Korea|",
    "CZ": "Czech Republic|",
    "CI": "Ivory Coast|",
    "MM": "Burma",
    "NL": "Holland",
    "PS": "Palestine|Gaza|West Bank",
    "VA": "Vatican",
    "CD": "Congo",
    "MK": "Macedonia",
    "CV": "Cape Verde|",
}
_AR_ALIASES = {
    "US": "أمريكا|أميركا|واشنطن",
    "GB": "بريطانيا|إنجلترا|إنكلترا",
    "AE": "الإمارات",
    "SA": "السعودية",
    "PS": "فلسطين|غزة|الضفة الغربية",
    "SY": "سورية",
    "KP": "كوريا الشمالية|",
    "KR": "كوريا الجنوبية|",
    "CZ": "التشيك",
}
_EN_DEMONYMS = {
    "IR": "Iranian Iranians Persian",
    "IQ": "Iraqi Iraqis",
    "TR": "Turkish Turk Turks",
    "IL": "Israeli Israelis",
    "US": "American Americans",
    "RU": "Russian Russians",
    "CN": "Chinese",
    "JO": "Jordanian Jordanians",
    "SY": "Syrian Syrians",
    "LB": "Lebanese",
    "EG": "Egyptian Egyptians",
    "SA": "Saudis",
    "KW": "Kuwaiti Kuwaitis",
    "QA": "Qatari Qataris",
    "AE": "Emirati Emiratis",
    "BH": "Bahraini Bahrainis",
    "OM": "Omani Omanis",
    "YE": "Yemeni Yemenis",
    "PS": "Palestinian Palestinians",
    "AF": "Afghan Afghans",
    "PK": "Pakistani Pakistanis",
    "IN": "Indian Indians",
    "GB": "British Briton Britons English",
    "FR": "French",
    "DE": "German Germans",
    "IT": "Italian Italians",
    "ES": "Spanish",
    "JP": "Japanese",
    "KR": "Korean Koreans",
    "UA": "Ukrainian Ukrainians",
    "LY": "Libyan Libyans",
    "TN": "Tunisian Tunisians",
    "DZ": "Algerian Algerians",
    "MA": "Moroccan Moroccans",
    "SD": "Sudanese",
    "SO": "Somali Somalis",
    "ET": "Ethiopian Ethiopians",
    "GR": "Greek Greeks",
    "PL": "Polish",
    "NL": "Dutch",
    "BE": "Belgian Belgians",
    "CH": "Swiss",
    "SE": "Swedish Swedes",
    "NO": "Norwegian Norwegians",
    "DK": "Danish Danes",
    "FI": "Finnish",
    "AT": "Austrian Austrians",
    "PT": "Portuguese",
    "BR": "Brazilian Brazilians",
    "MX": "Mexican Mexicans",
    "CA": "Canadian Canadians",
    "AU": "Australian Australians",
    "CU": "Cuban Cubans",
    "VE": "Venezuelan Venezuelans",
    "AR": "Argentine Argentinian Argentinians",
    "NG": "Nigerian Nigerians",
    "ID": "Indonesian Indonesians",
    "MY": "Malaysian Malaysians",
    "HU": "Hungarian Hungarians",
    "RO": "Romanian Romanians",
    "RS": "Serbian Serbs",
    "IE": "Irish",
    "AZ": "Azerbaijani Azeri",
    "AM": "Armenian Armenians",
    "GE": "Georgian Georgians",
}
# Places that are not territories in CLDR, or cities it does not use for a time zone: (English, Arabic).
_EXTRA_PLACES = [  # space-separated single words; "|" before a name of several words
    ("Kurdistan Kurdish Kurds", "كردستان الأكراد الكرد"),
    ("Scotland Scottish Scots", "اسكتلندا"),
    ("Wales Welsh", "ويلز"),
    ("Ankara", "أنقرة"),
    ("Basra", "البصرة"),
    ("Mosul", "الموصل"),
    ("Erbil Irbil", "أربيل"),
    ("Najaf", "النجف"),
    ("Karbala", "كربلاء"),
    ("Kirkuk", "كركوك"),
    ("Tikrit", "تكريت"),
    ("Fallujah Falluja", "الفلوجة"),
    ("Sulaymaniyah", "السليمانية"),
    ("Aleppo", "حلب"),
    ("Homs", "حمص"),
    ("Sanaa", "صنعاء"),
    ("|Tel Aviv", "|تل أبيب"),
    ("Mecca Makkah", "مكة"),
    ("Alexandria", "الإسكندرية"),
    ("Geneva", "جنيف"),
    ("Vienna", "فيينا"),
    ("Brussels", "بروكسل"),
    ("Qom", "قم"),
    ("Mashhad", "مشهد"),
    ("Isfahan", "أصفهان"),
    ("Haifa", "حيفا"),
    ("Ramallah", "|رام الله"),
    ("Marrakesh", "مراكش"),
    ("Benghazi", "بنغازي"),
    ("Idlib", "إدلب"),
    ("Golan", "الجولان"),
    ("Sinai", "سيناء"),
    ("Crimea", "القرم"),
    ("Europe European Europeans", "أوروبا أوروبي"),
    ("Asia Asian", "آسيا آسيوي"),
    ("Africa African", "أفريقيا إفريقيا أفريقي"),
]
_ZONE_AREAS = ("Asia/", "Africa/", "Europe/", "America/", "Australia/")
_NISBA_SUFFIXES = ("يون", "يين", "يان", "يتين", "يه", "ي")
# Arabic place names that are also common words ("مالي" = financial).
_AR_AMBIGUOUS = {"مالي", "قطر", "عمان", "المدينه", "جزر", "الجبل الاسود", "الراس الاخضر", "تشاد", "توغو"}


@dataclass(frozen=True)
class Place:
    """One place: its English names and demonyms (casefolded) and its Arabic names (normalised)."""

    key: str
    latin: frozenset[str]
    arabic: frozenset[str]
    stems: frozenset[str]  # Arabic nisba stems: "ترك" for "تركي", "التركية", "الأتراك" is not derived


def _nisba_stem(name: str) -> str:
    """ "تركيا" -> "ترك", "العراق" -> "عراق", "أفغانستان" -> "افغان", "السعودية" -> "سعود"."""
    if " " in name:
        return ""
    stem = name[2:] if name.startswith("ال") and len(name) > 4 else name
    for ending in ("ستان", "يه", "يا", "ا", "ه"):
        if stem.endswith(ending) and len(stem) - len(ending) >= 3:
            stem = stem[: -len(ending)]
            break
    return stem if len(stem) >= 3 else ""


@cache
def gazetteer() -> tuple[Place, ...]:
    """Countries, regions and major cities in English and Arabic, built once from CLDR (babel) and the lists above."""
    from babel import Locale
    from babel.dates import get_timezone_location

    en, ar = Locale("en"), Locale("ar")
    common, _ = _dictionary()
    places: list[Place] = []

    def add(key: str, latin: list[str], arabic: list[str], demonyms: bool = True) -> None:
        arabic_keys = {normalize(a) for a in arabic if a} - _AR_AMBIGUOUS
        stems = {s for a in arabic_keys if (s := _nisba_stem(a))} if demonyms else set()
        latin_keys = {w.casefold() for w in latin if len(w) > 2}
        places.append(Place(key, frozenset(latin_keys), frozenset(arabic_keys), frozenset(stems)))

    def names(raw: str) -> list[str]:
        return [n.strip() for n in (raw.split("|") if "|" in raw else raw.split()) if n.strip()]

    for code, name in en.territories.items():
        if code.isdigit() or code in ("ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"):
            continue
        latin = [name, *names(_EN_ALIASES.get(code, "")), *names(_EN_DEMONYMS.get(code, ""))]
        add(name, latin, [ar.territories.get(code, ""), *names(_AR_ALIASES.get(code, ""))])
    for zone, data in ar.time_zones.items():
        city = data.get("city") if hasattr(data, "get") else None
        if not city or not zone.startswith(_ZONE_AREAS) or zone.count("/") != 1:
            continue
        english = zone.split("/")[-1].replace("_", " ")
        if english.casefold() in common:
            continue  # "Phoenix", "Jersey": a word first
        try:
            arabic_city = get_timezone_location(zone, locale="ar", return_city=True)
        except LookupError:
            arabic_city = city
        add(english, [english], [arabic_city], demonyms=False)  # "رياضي" is "of sport", not "of Riyadh"
    for latin, arabic in _EXTRA_PLACES:
        add(names(latin)[0], names(latin), names(arabic))
    return tuple(places)


@cache
def _latin_index() -> dict[str, tuple[Place, ...]]:
    index: dict[str, list[Place]] = {}
    for place in gazetteer():
        for form in place.latin:
            index.setdefault(form, []).append(place)
    return {k: tuple(v) for k, v in index.items()}


@cache
def _arabic_index() -> tuple[dict[str, tuple[Place, ...]], dict[str, tuple[Place, ...]]]:
    """Arabic names (one word) and nisba stems, each to its places."""
    names: dict[str, list[Place]] = {}
    stems: dict[str, list[Place]] = {}
    for place in gazetteer():
        for form in place.arabic:  # as written: a word of the text is matched with its prefixes stripped
            if len(form) >= 3:
                names.setdefault(form, []).append(place)
        for stem in place.stems:
            stems.setdefault(stem, []).append(place)
    return {k: tuple(v) for k, v in names.items()}, {k: tuple(v) for k, v in stems.items()}


def _latin_places(text: str) -> dict[str, Place]:
    """Gazetteer places named in Latin script: case-insensitive, except names that are also dictionary words."""
    common, _ = _dictionary()
    index = _latin_index()
    found: dict[str, Place] = {}
    words = _LATIN_WORD.findall(text)
    spans = [*words, *(f"{a} {b}" for a, b in pairwise(words))]
    for surface in spans:
        base = re.sub(r"['’]s$", "", surface).strip("'’")
        places = index.get(base.casefold())
        if not places:
            continue
        if base.casefold() in common and not base[:1].isupper():
            continue  # "turkey", "china": the bird and the porcelain
        found[base] = places[0]
    return found


def _arabic_words(text: str) -> list[str]:
    return _AR_WORD.findall(normalize(text))


def _arabic_places(text: str) -> dict[str, Place]:
    names, stems = _arabic_index()
    found: dict[str, Place] = {}
    words = _arabic_words(text)
    for word in [*words, *(f"{a} {b}" for a, b in pairwise(words))]:
        for variant in _stripped(word):
            if variant in names:
                found[word] = names[variant][0]
                break
            for suffix in _NISBA_SUFFIXES:
                if variant.endswith(suffix) and variant[: -len(suffix)] in stems:
                    found[word] = stems[variant[: -len(suffix)]][0]
                    break
            if word in found:
                break
    return found


def places_in(text: str) -> dict[str, Place]:
    """Places a text names, in either script, by the surface form found."""
    return {**_latin_places(text), **_arabic_places(text)}


def place_stated(place: Place, evidence: str) -> bool:
    """Whether the evidence names the place: any of its names or demonyms, in either script, or by sound."""
    found = places_in(evidence)
    if any(p.key == place.key for p in found.values()):
        return True
    # a transliteration the gazetteer does not list ("جوردان", "لوس أنجلس"): by sound, every word of the name
    return any(
        all(sounds_in(w, evidence, strict=True) for w in form.split())
        and len(latin_skeleton(form.replace(" ", ""))) >= 4
        for form in place.latin
        if form.replace(" ", "").isalpha()
    )


# ---- people ------------------------------------------------------------------------------------------------

# titles that come right before a person's name (not "رئيس"/"وزير", which are followed by what they head)
_AR_TITLES = {
    normalize(t)
    for t in "الجنرال الشيخ السيد السيدة الإمام العميد اللواء العقيد الملك الأمير المرشد الدكتور".split()
}
_AR_STOP = {
    normalize(w)
    for w in (
        "في من على إلى عن مع أن إن كان كانت هذا هذه ذلك التي الذي الذين ما لم لن لا قد و أو ثم بعد قبل عند "
        "هو هي هم باسم الوزراء الخارجية الداخلية الدفاع الحكومة الجمهورية الأمن القومي الأعلى السابق الحالي "
        "الأسبق الراحل المخلوع التنفيذي المنتخب الجديد"
    ).split()
}


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \"'“‘«(")
    return not before or before[-1] in ".!?:;؟\n"


_PERSON_TITLES = frozenset(
    """president minister general gen mr mrs ms dr sir senator governor king queen prince princess sheikh emir
    ayatollah imam pope secretary chancellor commander colonel col lieutenant lt captain capt sergeant judge
    mayor premier ambassador envoy spokesman spokeswoman""".split()
)


def latin_names(text: str) -> list[str]:
    return [name for name, _ in _latin_names(text)]


def _latin_names(text: str) -> list[tuple[str, bool]]:
    """Names in Latin script: capitalised words that are not dictionary words ("Kadhimi"), and capitalised
    dictionary words right after a person's title ("President Bush", "General Rice"; not "Prime Minister" or
    "Summer Theatre": measured on XQuAD, any looser rule refused true claims). Gazetteer places are found by
    `places_in` instead. Each name comes with whether it is a dictionary word (checked strictly)."""
    words = [(m, re.sub(r"['’]s$", "", m.group(0)).strip("'’")) for m in _LATIN_WORD.finditer(text)]
    strong = [
        bool(b[:1].isupper())
        and not (b.isupper() and len(b) <= 3)
        and b.casefold() not in CALENDAR_WORDS
        and b.casefold() not in _TITLE_WORDS
        and not is_common_word(b)
        and not b.isupper()  # "IPCC", "XXXIII": acronyms and numerals are not transliterated
        for _, b in words
    ]
    names = []
    for i, (_, base) in enumerate(words):
        if strong[i]:
            names.append((base, False))
            continue
        if not base[:1].isupper() or base.casefold() in _TITLE_WORDS or base.casefold() in CALENDAR_WORDS:
            continue
        before = words[i - 1][1].casefold().rstrip(".") if i else ""
        if before in _PERSON_TITLES:
            names.append((base, True))
    return names


def arabic_names(text: str) -> list[str]:
    """Arabic words that follow a title ("الرئيس جو بايدن" gives "جو", "بايدن"), and Latin words in Arabic text."""
    names: list[str] = []
    words = _arabic_words(text)
    for i, word in enumerate(words):
        if not (_stripped(word) & _AR_TITLES):
            continue
        taken = 0
        for following in words[i + 1 : i + 5]:
            if len(following) <= 2 or _stripped(following) & (_AR_STOP | _AR_TITLES):
                break
            if _arabic_places(following):  # "الرئيس الأمريكي جو بايدن": the demonym is not the name
                if taken:
                    break
                continue
            names.append(following)
            taken += 1
            if taken == 2:
                break
    return names


def _arabic_word_in(word: str, evidence: str) -> bool:
    forms = _stripped(word)
    return any(forms & _stripped(token) for token in _arabic_words(evidence))


def missing_names(claim: str, evidence: str) -> list[str]:
    """Places and people the claim names that the evidence does not (in Latin or Arabic script)."""
    missing: list[str] = []
    places = places_in(claim)
    for surface, place in places.items():
        if not place_stated(place, evidence):
            missing.append(surface)
    claimed_places = {normalize(s) for s in places}
    for name, weak in _latin_names(claim):
        if name in places or normalize(name) in claimed_places or any(name in s.split() for s in places):
            continue
        if not sounds_in(name, evidence, strict=weak):
            missing.append(name)
    if ARABIC_LETTER.search(claim):
        for word in arabic_names(claim):
            if word in claimed_places or _arabic_word_in(word, evidence):
                continue
            missing.append(word)
    return list(dict.fromkeys(missing))
