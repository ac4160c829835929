"""Write doc/bad_input.md from the table of tests/test_bad_input.py.

Run from anywhere: ``python doc/make_bad_input_table.py``. The test module holds
the table as data (``BAD_INPUTS``) and runs every row; this script only renders it,
and ``test_doc_table_is_up_to_date`` fails when the committed page differs.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    sys.path.insert(0, str(ROOT / "tests"))
    from test_bad_input import markdown_table

    out = ROOT / "doc" / "bad_input.md"
    out.write_text(markdown_table())
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
