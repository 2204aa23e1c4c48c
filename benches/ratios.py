#!/usr/bin/env python3
"""Prints `full / rsa_only` for every criterion group that has both, from one run's estimates.

Usage: python3 benches/ratios.py [target/criterion]
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median_ns(group: pathlib.Path, bench: str):
    f = group / bench / "new" / "estimates.json"
    return json.loads(f.read_text())["median"]["point_estimate"] if f.exists() else None


for group in sorted(p for p in root.iterdir() if p.is_dir()):
    full, rsa = median_ns(group, "full"), median_ns(group, "rsa_only")
    if full and rsa:
        print(f"{group.name:<16} full {full / 1e6:8.3f} ms  rsa_only {rsa / 1e6:8.3f} ms  ratio {full / rsa:.3f}")
