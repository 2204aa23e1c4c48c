#!/usr/bin/env python3
"""Prints one run's figures from criterion's estimates (medians):

* `full / rsa_only` for every group that has both (codec, server PKCSReq, client CertRep);
* the RSA operations and key generation of each backend measured (`rsa_<backend>`,
  `rsa_1024_<backend>`, `keygen_<backend>`);
* with `--openssl`, the `openssl speed -seconds 3 rsa2048` floor of a PKCSReq
  (3 private + 3 public operations at OpenSSL's rate) and each backend's server PKCSReq
  handling against it.

Usage: python3 benches/ratios.py [--openssl] [target/criterion]
"""
import json
import pathlib
import subprocess
import sys

args = [a for a in sys.argv[1:] if a != "--openssl"]
root = pathlib.Path(args[0] if args else "target/criterion")


def median_ns(group: pathlib.Path, bench: str):
    f = group / bench / "new" / "estimates.json"
    return json.loads(f.read_text())["median"]["point_estimate"] if f.exists() else None


def openssl_rates():
    """sign/s and verify/s of `openssl speed -seconds 3 rsa2048`."""
    out = subprocess.run(
        ["openssl", "speed", "-seconds", "3", "rsa2048"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    header = next(line for line in out if "sign/s" in line).split()
    row = next(line for line in out if line.startswith("rsa 2048 bits")).split()[3:]
    values = dict(zip(header, row))
    return float(values["sign/s"]), float(values["verify/s"])


groups = sorted(p for p in root.iterdir() if p.is_dir())
print("== full / rsa_only (codec + logic overhead)")
for group in groups:
    full, rsa = median_ns(group, "full"), median_ns(group, "rsa_only")
    if full and rsa:
        print(f"{group.name:<28} full {full / 1e6:8.3f} ms  rsa_only {rsa / 1e6:8.3f} ms  ratio {full / rsa:.3f}")

print("== RSA operations per backend (median; rsa_1024_*: 1024-bit, the rest 2048-bit)")
for group in groups:
    if group.name.startswith(("rsa_", "keygen_")):
        for bench in sorted(p.name for p in group.iterdir() if (p / "new").is_dir()):
            m = median_ns(group, bench)
            print(f"{group.name:<20} {bench:<18} {m / 1e6:10.3f} ms")

if "--openssl" in sys.argv[1:]:
    sign_s, verify_s = openssl_rates()
    floor_ms = (3 / sign_s + 3 / verify_s) * 1e3
    print(f"== openssl speed rsa2048: {sign_s:.1f} sign/s, {verify_s:.1f} verify/s;"
          f" PKCSReq floor (3 private + 3 public) {floor_ms:.3f} ms")
    for group in groups:
        if group.name.startswith("server_pkcsreq_"):
            full = median_ns(group, "full")
            if full:
                print(f"{group.name:<28} full {full / 1e6:8.3f} ms  / openssl floor {full / 1e6 / floor_ms:.3f}")
