#!/usr/bin/env python3
"""Lists the public items of the published crates whose rustdoc has no
example (no fenced code block), and fails if there is any.

Public items: `pub fn`, `pub struct`, `pub enum`, `pub trait`, `pub type`,
`pub const`, `pub static`, and the methods declared in a `pub trait`.
Items marked `#[doc(hidden)]` are skipped. Run: `python3 .ci/examples.py`.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKIP = {"bench", "test-macros"}
ITEM = re.compile(r"^\s*pub (?:async )?(?:unsafe )?(fn|struct|enum|trait|type|const|static)\s+(\w+)")
TRAIT = re.compile(r"^\s*pub (?:unsafe )?trait\s+(\w+)")
TRAIT_FN = re.compile(r"^\s*(?:async )?fn\s+(\w+)")


def doc_above(lines, index):
    """The doc comment and attributes just above line `index`."""
    docs, attrs = [], []
    i = index - 1
    in_attr = False
    while i >= 0:
        line = lines[i].strip()
        if in_attr:
            attrs.append(line)
            in_attr = not line.startswith("#[")
        elif line.startswith("///"):
            docs.append(line)
        elif line.startswith("#["):
            attrs.append(line)
        elif line.endswith("]"):
            # The last line of an attribute written over several lines.
            attrs.append(line)
            in_attr = True
        else:
            break
        i -= 1
    return docs, attrs


def missing(path):
    lines = path.read_text().splitlines()
    found = []
    in_trait = None
    depth = 0
    trait_depth = None
    in_tests = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#[cfg(test)]"):
            in_tests = True
        if in_tests:
            continue
        match = ITEM.match(line)
        name = None
        if match:
            name = f"{match.group(1)} {match.group(2)}"
        elif in_trait is not None and trait_depth is not None and depth == trait_depth + 1:
            fn = TRAIT_FN.match(line)
            if fn:
                name = f"fn {in_trait}::{fn.group(1)}"
        # A sealed trait lives in a private module: not public API.
        if name and name.endswith(" Sealed"):
            name = None
        if name:
            docs, attrs = doc_above(lines, index)
            hidden = any(
                "doc(hidden)" in attr or ("cfg(" in attr and ("test" in attr or "loom" in attr))
                for attr in attrs
            )
            if not hidden and not any("```" in doc for doc in docs):
                found.append(f"{path.relative_to(ROOT)}:{index + 1}: {name}")
        trait = TRAIT.match(line)
        if trait:
            in_trait = trait.group(1)
            trait_depth = depth
        depth += line.count("{") - line.count("}")
        if in_trait is not None and depth <= trait_depth and "}" in line:
            in_trait = None
            trait_depth = None
    return found


def main():
    found = []
    for crate in sorted((ROOT / "crates").iterdir()):
        if crate.name in SKIP or not (crate / "src").is_dir():
            continue
        for path in sorted((crate / "src").rglob("*.rs")):
            found.extend(missing(path))
    for item in found:
        print(item)
    if found:
        print(f"{len(found)} public items have no example", file=sys.stderr)
        return 1
    print("every public item has an example")
    return 0


if __name__ == "__main__":
    sys.exit(main())
