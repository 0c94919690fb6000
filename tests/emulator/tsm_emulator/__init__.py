"""Tableau Server (TSM) emulator used to test the tableau.tsm collection.

Test fixture only: excluded from the galaxy build. See ../CONTRACT.md.
"""

import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(PACKAGE_DIR, "data")
