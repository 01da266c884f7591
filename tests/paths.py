"""Where the tests find their data (importable by name, unlike the conftest modules)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED = (REPO / ".." / "shared").resolve()
CAMVID = SHARED / "data" / "camvid-half"
TRAINED = SHARED / "fixtures" / "s2fpn18_camvid_half.pth"
