"""Names of départements and régions with their article: « la Loire-Atlantique », « du Finistère ».

Why a table: the article is part of how a name is said, and the Code officiel géographique gives
it as the name's type (TNCC, « type de nom en clair »); the catalogue's territory register keeps
names only. The types below are the `typeLiaison` of `data/departements.json` and
`data/regions.json` in the npm package @etalab/decoupage-administratif 6.0.0 (INSEE's COG 2026,
Licence Ouverte), the same package the register is built from (build_territories). A code not
listed (a territory added by staff) is written without an article.
"""

# TNCC: 0 no article (consonant), 1 no article (vowel or mute h), 2 « le », 3 « la », 4 « les »,
# 5 « l' », 6 « aux », 7 « las », 8 « los » (INSEE, documentation of the COG).
DEPARTEMENT_TNCC = {
    "01": 5,
    "02": 5,
    "03": 5,
    "04": 4,
    "05": 4,
    "06": 4,
    "07": 5,
    "08": 4,
    "09": 5,
    "10": 5,
    "11": 5,
    "12": 5,
    "13": 4,
    "14": 2,
    "15": 2,
    "16": 3,
    "17": 3,
    "18": 2,
    "19": 3,
    "21": 3,
    "22": 4,
    "23": 3,
    "24": 3,
    "25": 2,
    "26": 3,
    "27": 5,
    "28": 1,
    "29": 2,
    "2A": 3,
    "2B": 3,
    "30": 2,
    "31": 3,
    "32": 2,
    "33": 3,
    "34": 5,
    "35": 1,
    "36": 5,
    "37": 1,
    "38": 5,
    "39": 2,
    "40": 4,
    "41": 2,
    "42": 3,
    "43": 3,
    "44": 3,
    "45": 2,
    "46": 2,
    "47": 2,
    "48": 3,
    "49": 0,
    "50": 3,
    "51": 3,
    "52": 3,
    "53": 3,
    "54": 0,
    "55": 3,
    "56": 2,
    "57": 3,
    "58": 3,
    "59": 2,
    "60": 5,
    "61": 5,
    "62": 2,
    "63": 2,
    "64": 4,
    "65": 4,
    "66": 4,
    "67": 2,
    "68": 2,
    "69": 2,
    "70": 3,
    "71": 0,
    "72": 3,
    "73": 3,
    "74": 3,
    "75": 0,
    "76": 3,
    "77": 0,
    "78": 4,
    "79": 4,
    "80": 3,
    "81": 2,
    "82": 2,
    "83": 2,
    "84": 2,
    "85": 3,
    "86": 3,
    "87": 3,
    "88": 4,
    "89": 5,
    "90": 2,
    "91": 5,
    "92": 4,
    "93": 3,
    "94": 2,
    "95": 2,
    "971": 3,
    "972": 3,
    "973": 3,
    "974": 0,
    "975": 0,
    "976": 0,
    "977": 0,
    "978": 0,
    "984": 0,
    "986": 0,
    "987": 0,
    "988": 0,
    "989": 0,
}
REGION_TNCC = {
    "01": 3,
    "02": 3,
    "03": 3,
    "04": 0,
    "06": 0,
    "11": 1,
    "24": 2,
    "27": 0,
    "28": 0,
    "32": 4,
    "44": 2,
    "52": 4,
    "53": 0,
    "75": 3,
    "76": 1,
    "84": 1,
    "93": 0,
    "94": 0,
    "975": 0,
    "977": 0,
    "978": 0,
    "984": 0,
    "986": 0,
    "987": 0,
    "988": 0,
    "989": 0,
}

# Name type → (« de » + article), as written before the name.
_OF = {
    0: "de ",
    1: "d'",
    2: "du ",
    3: "de la ",
    4: "des ",
    5: "de l'",
    6: "des ",
    7: "de las ",
    8: "de los ",
}
_VOWELS = tuple("AEIOUYÂÉÈÊÎÏÔÛaeiouyâéèêîïôû")


def name_type(kind: str, code: str) -> int | None:
    """The COG's type of a département's or région's name, None for other territories."""
    if kind == "DEP":
        return DEPARTEMENT_TNCC.get(code)
    if kind == "REG":
        return REGION_TNCC.get(code)
    return None


def of_name(kind: str, code: str, name: str) -> str:
    """« de » and the name, with the article and elision French uses: « du Finistère »,
    « de la Loire-Atlantique », « des Pays de la Loire », « d'Angers », « de Brest »."""
    tncc = name_type(kind, code)
    if tncc is None:
        tncc = 1 if name.startswith(_VOWELS) else 0
    return _OF[tncc] + name
