#!/usr/bin/env python3
"""Generate src/reports/deid/table.rs from DICOM PS3.15 Table E.1-1.

The de-identifier acts on the attributes of the standard's table
("Application Level Confidentiality Profile Attributes"), not on a list
written from memory. This script turns a machine-readable copy of that
table into a sorted Rust table. It needs two JSON files extracted from the
standard (for example by the open-source dicom-standard parser, whose
`standard/confidentiality_profile_attributes.json` and
`standard/attributes.json` have this shape):

- PROFILE: a list of objects with "tag" ("(0008,0050)", "(50XX,XXXX)",
  "(GGGG,EEEE) WHERE GGGG IS ODD"), "name", "basicProfile" and the option
  columns "rtnSafePrivOpt", "rtnUIDsOpt", "rtnDevIdOpt", "rtnInstIdOpt",
  "rtnPatCharsOpt", "rtnLongFullDatesOpt", "rtnLongModifDatesOpt",
  "cleanDescOpt", "cleanStructContOpt", "cleanGraphOpt";
- ATTRIBUTES: the PS3.6 data dictionary, a list of objects with "tag" and
  "valueRepresentation" (used to give every row its VR).

Usage (python3, standard library only):

    python3 scripts/gen_deid_table.py --edition 2024b \
        --source "..." PROFILE.json ATTRIBUTES.json > src/reports/deid/table.rs

Nothing here is copied from the parser that produced the JSON; only the
standard's facts (tags, names, VRs, action codes) end up in the output.
"""

import argparse
import json
import re
import sys
import textwrap

# Option columns, in the order of `Column` in src/reports/deid/rules.rs.
COLUMNS = [
    ("rtnSafePrivOpt", "Retain Safe Private"),
    ("rtnUIDsOpt", "Retain UIDs"),
    ("rtnDevIdOpt", "Retain Device Identity"),
    ("rtnInstIdOpt", "Retain Institution Identity"),
    ("rtnPatCharsOpt", "Retain Patient Characteristics"),
    ("rtnLongFullDatesOpt", "Retain Longitudinal Temporal Information Full Dates"),
    ("rtnLongModifDatesOpt", "Retain Longitudinal Temporal Information Modified Dates"),
    ("cleanDescOpt", "Clean Descriptors"),
    ("cleanStructContOpt", "Clean Structured Content"),
    ("cleanGraphOpt", "Clean Graphics"),
]

# Action codes of the table and the Rust variant each becomes.
ACTIONS = {
    "D": "D",
    "Z": "Z",
    "X": "X",
    "K": "K",
    "C": "C",
    "U": "U",
    "Z/D": "ZD",
    "X/Z": "XZ",
    "X/D": "XD",
    "X/Z/D": "XZD",
    "X/Z/U*": "XZU",
}

# Command-group (0000,xxxx) rows are not in the PS3.6 data dictionary; their
# VRs are those of the PS3.7 command dictionary.
COMMAND_VRS = {0x00001000: "UI", 0x00001001: "UI"}

TAG = re.compile(r"^\(([0-9A-FX]{4}),([0-9A-FX]{4})\)$")


def parse_tag(text):
    """(value, mask) of a tag or tag pattern: X digits match anything."""
    text = text.strip().upper()
    if text.startswith("(GGGG,EEEE)") and "ODD" in text:
        # Private attributes: every odd group.
        return 0x00010000, 0x00010000
    m = TAG.match(text)
    if not m:
        raise ValueError(f"unrecognised tag {text!r}")
    digits = m.group(1) + m.group(2)
    value = int(digits.replace("X", "0"), 16)
    mask = int("".join("0" if c == "X" else "F" for c in digits), 16)
    return value, mask


def clean_name(name):
    """The attribute's name without footnote references or line breaks."""
    name = re.sub(r"\(see Note \d+\)", "", name)
    return " ".join(name.split())


def action(code, where):
    code = (code or "").strip()
    if code not in ACTIONS:
        raise ValueError(f"{where}: unknown action code {code!r}")
    return ACTIONS[code]


def vr_of(value, mask, attributes):
    if mask == 0x00010000:
        return None
    if value in COMMAND_VRS:
        return COMMAND_VRS[value]
    key = "(%04X,%04X)" % (value >> 16, value & 0xFFFF)
    if mask != 0xFFFFFFFF:
        key = "".join(
            "X" if m == "0" else c
            for c, m in zip(key, "(%04X,%04X)" % (mask >> 16, mask & 0xFFFF))
        )
    vr = attributes.get(key)
    if not vr or vr in ("", "See Note", "NONE"):
        return None
    # "OB or OW", "US or SS": the first is used for dummy values.
    return vr.split(" or ")[0].strip()


def rust_str(text):
    return json.dumps(text, ensure_ascii=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="Table E.1-1 as JSON")
    parser.add_argument("attributes", help="the PS3.6 data dictionary as JSON")
    parser.add_argument("--edition", required=True, help="edition of the standard, e.g. 2024b")
    parser.add_argument("--source", default="", help="where the JSON came from (for the header)")
    args = parser.parse_args()

    with open(args.profile, encoding="utf-8") as f:
        rows = json.load(f)
    with open(args.attributes, encoding="utf-8") as f:
        attributes = {
            a["tag"].strip().upper(): a.get("valueRepresentation", "") for a in json.load(f)
        }

    exact, patterns, seen = [], [], set()
    for row in rows:
        value, mask = parse_tag(row["tag"])
        if (value, mask) in seen:
            raise ValueError(f"{row['tag']}: listed twice")
        seen.add((value, mask))
        where = f"{row['tag']} {row['name']!r}"
        basic = action(row.get("basicProfile"), where)
        options = []
        for key, _ in COLUMNS:
            options.append(action(row[key], where) if row.get(key) else None)
        vr = vr_of(value, mask, attributes)
        entry = (value, mask, clean_name(row["name"]), vr, basic, options)
        (exact if mask == 0xFFFFFFFF else patterns).append(entry)
    exact.sort(key=lambda e: e[0])
    patterns.sort(key=lambda e: (e[0], e[1]))
    if len(exact) < 500:
        raise ValueError(f"only {len(exact)} attributes: not Table E.1-1?")

    out = sys.stdout
    out.write(
        "//! DICOM PS3.15 Table E.1-1 (Application Level Confidentiality Profile\n"
        f"//! Attributes), edition {args.edition}: the Basic Profile action and the\n"
        "//! option columns of every attribute.\n"
        "//!\n"
        "//! GENERATED by `scripts/gen_deid_table.py`: do not edit by hand.\n"
    )
    if args.source:
        out.write("//! Source: " + "\n//! ".join(textwrap.wrap(args.source, 70)) + "\n")
    out.write(
        "//! Regenerate with\n"
        "//! `python3 scripts/gen_deid_table.py --edition EDITION PROFILE.json ATTRIBUTES.json\n"
        "//! > src/reports/deid/table.rs` (see the script for the JSON shapes).\n"
        "//!\n"
        "//! Option columns, in order:\n"
        + "".join(f"//! {i}. {n}\n" for i, (_, n) in enumerate(COLUMNS))
        + "\n"
        "use dicom_core::VR;\n\n"
        "use super::rules::Action::{C, D, K, U, X, XD, XZ, XZD, XZU, Z, ZD};\n"
        "use super::rules::{Entry, N};\n\n"
        "/// The edition of DICOM PS3.15 the table was generated from.\n"
        f"pub const EDITION: &str = {rust_str(args.edition)};\n\n"
    )

    def line(e):
        value, mask, name, vr, basic, options = e
        vr_text = f"Some(VR::{vr})" if vr else "None"
        opts = ", ".join(f"Some({o})" if o else "N" for o in options)
        return (
            f"    Entry {{ tag: 0x{value:08X}, mask: 0x{mask:08X}, name: {rust_str(name)}, "
            f"vr: {vr_text}, basic: {basic}, options: [{opts}] }},\n"
        )

    def array(doc, name, entries):
        out.write("".join(f"/// {d}\n" for d in doc))
        out.write(f"#[rustfmt::skip]\npub static {name}: [Entry; {len(entries)}] = [\n")
        out.write("".join(line(e) for e in entries))
        out.write("];\n")

    array(["The attributes with one tag, sorted by tag (binary search)."], "EXACT", exact)
    out.write("\n")
    array(
        [
            "The rows naming a range of tags: curves (50xx,xxxx), overlays",
            "(60xx,eeee) and private attributes (odd groups, mask on the group's",
            "lowest bit).",
        ],
        "PATTERNS",
        patterns,
    )

if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
        print(f"gen_deid_table: {err}", file=sys.stderr)
        sys.exit(1)
