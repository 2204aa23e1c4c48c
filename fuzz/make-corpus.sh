#!/usr/bin/env bash
# Builds the committed seed corpus (seeds/<target>/) from recorded SCEP exchanges.
#
# Usage: fuzz/make-corpus.sh <fixtures-dir>
#   <fixtures-dir> is laid out like the project's shared/fixtures: any depth of folders holding
#   NNN-<operation>[-<messageType>].req.txt (request line first), the matching .req.der (the
#   pkiMessage as sent) and NNN-GetCACaps.resp.bin (a GetCACaps answer body).
#
# Seeds are named by the SHA-1 of their content, so re-running only adds new ones. A few
# hand-written seeds for what the recordings lack (IOS-style GET, CRLF caps text) are added too.
# Targets added later get their own section below.
set -euo pipefail

fixtures=${1:?usage: make-corpus.sh <fixtures-dir>}
here=$(cd "$(dirname "$0")" && pwd)

# put <target> <file>: store <file> as seeds/<target>/<sha1>, then remove it.
put() {
    local dir="$here/seeds/$1" sum
    mkdir -p "$dir"
    sum=$(sha1sum "$2" | cut -d' ' -f1)
    mv "$2" "$dir/$sum"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- http_request: <method byte> <request-target> NUL <body>  (fuzz_targets/http_request.rs)
# method byte: 0 = GET, 1 = POST.
http_seed() { # method target body-file-or-empty
    local out="$tmp/seed" byte
    case "$1" in GET) byte='\000' ;; POST) byte='\001' ;; *) return 0 ;; esac
    { printf "$byte"; printf '%s' "$2"; printf '\000'; if [ -n "$3" ]; then cat "$3"; fi; } > "$out"
    put http_request "$out"
}

count=0
while IFS= read -r -d '' req; do
    line=$(head -n 1 "$req" | tr -d '\r')
    method=${line%% *}
    rest=${line#* }
    target=${rest%% *}
    der="${req%.req.txt}.req.der"
    body=""
    if [ "$method" = POST ] && [ -f "$der" ]; then body=$der; fi
    http_seed "$method" "$target" "$body"
    count=$((count + 1))
done < <(find "$fixtures" -name '*.req.txt' -print0 | sort -z)
echo "http_request: $count recorded requests"

# Shapes the recordings lack (S-3): IOS line breaks and no padding, macOS unescaped +/,
# form-decoded spaces, URL-safe alphabet, an IOS CA name, a plain GetCRL, an unknown method.
http_seed GET '/cgi-bin/pkiclient.exe?operation=PKIOperation&message=MIIB%0ACgI' ""
http_seed GET '/scep?operation=PKIOperation&message=+/+/MIIBCgI=' ""
http_seed GET '/scep?operation=pkioperation&message= / /MIIBCgI%3D' ""
http_seed GET '/scep?operation=PKIOperation&message=-_-_MIIBCgI' ""
http_seed GET '/cgi-bin/pkiclient.exe?operation=GetCACert&message=Test-Router' ""
http_seed GET '/scep?operation=GetCRL' ""
printf '\003/scep?operation=GetCACaps\000' > "$tmp/seed" && put http_request "$tmp/seed"

# --- caps_text: a GetCACaps body (fuzz_targets/caps_text.rs)
count=0
while IFS= read -r -d '' resp; do
    cp "$resp" "$tmp/seed" && put caps_text "$tmp/seed"
    count=$((count + 1))
done < <(find "$fixtures" -name '*GetCACaps.resp.bin' -print0 | sort -z)
echo "caps_text: $count recorded answers"
printf 'AES\nDES3\nGetNextCACert\nPOSTPKIOperation\nRenewal\nSHA-1\nSHA-256\nSHA-384\nSHA-512\nSCEPStandard\n' > "$tmp/seed" && put caps_text "$tmp/seed"
printf 'GetNextCACert\r\nrenewal\r\n  SHA-1 \r\n\r\nsha-256\r\nUnknown\r\n' > "$tmp/seed" && put caps_text "$tmp/seed"

# --- pkiMessage-shaped targets: every recorded request (.req.der) and PKIOperation answer
# (.resp.bin), plus the BER (-stream) sample of scep-proto's tests.
pki_seeds() { # target
    local n=0 f
    while IFS= read -r -d '' f; do
        cp "$f" "$tmp/seed" && put "$1" "$tmp/seed"
        n=$((n + 1))
    done < <(find "$fixtures" \( -name '*.req.der' -o -name '*PKIOperation*.resp.bin' \) -print0 | sort -z)
    cp "$here/../scep-proto/tests/data/ber/openssl-sign-stream.ber" "$tmp/seed" && put "$1" "$tmp/seed"
    # strongSwan's RSASSA-PSS request (SHA-512), recorded outside the shared set.
    cp "$here/../scep-proto/tests/data/strongswan-pss/001-PKIOperation-PKCSReq.req.der" "$tmp/seed" \
        && put "$1" "$tmp/seed"
    echo "$1: $n recorded pkiMessages + 1 BER sample + 1 PSS request"
}
for t in ber_normalize pkimessage envelope cert_rep certs_only; do pki_seeds "$t"; done

# --- trustpoint_response: <state> <form> <status> <body>  (fuzz_targets/trustpoint_response.rs)
# States are picked modulo the lab's count (10 today). Recorded answers as raw bodies: CA
# certificates (PEM -> DER) for GetCACert, GetCACaps bodies, PKIOperation answers; then answers
# the target builds and signs itself (form 0x08 CertRep: status 0..3; 0x28 signed by the man
# in the middle; 0x48/0x88 wrong transactionID/nonce; 0x0c GetNextCACert).
tp_seed() { # state form status [body-file]
    printf "\\$(printf '%03o' "$1")\\$(printf '%03o' "$2")\\$(printf '%03o' "$3")" > "$tmp/seed"
    if [ -n "${4:-}" ]; then cat "$4" >> "$tmp/seed"; fi
    put trustpoint_response "$tmp/seed"
}
n=0
while IFS= read -r -d '' pem; do
    sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$pem" | grep -v -- '-----' | base64 -d > "$tmp/ca.der" 2>/dev/null || continue
    [ -s "$tmp/ca.der" ] || continue
    for s in 0 1 2; do tp_seed "$s" 0 0 "$tmp/ca.der"; done
    n=$((n + 1))
done < <(find "$fixtures" -name 'ca.pem' -print0 | sort -z)
while IFS= read -r -d '' f; do
    tp_seed 2 0 0 "$f"; n=$((n + 1))
done < <(find "$fixtures" -name '*GetCACaps.resp.bin' -print0 | sort -z | head -z -n 3)
while IFS= read -r -d '' f; do
    for s in 3 4 5 8; do tp_seed "$s" 0 0 "$f"; done
    n=$((n + 1))
done < <(find "$fixtures" -name '*PKIOperation*.resp.bin' -print0 | sort -z)
for s in 0 1 2 3 4 5 6 7 8 9; do
    for form in 0 3; do tp_seed "$s" "$form" 0; done
    for st in 0 1 2 3 14; do tp_seed "$s" 8 "$st"; done
    tp_seed "$s" 40 0; tp_seed "$s" 40 3; tp_seed "$s" 72 0; tp_seed "$s" 136 2
    tp_seed "$s" 12 0; tp_seed "$s" 44 0
done
echo "trustpoint_response: $n recorded answers + signed shapes"

# --- trustpoint_record: <state> <how> <corruption>  (fuzz_targets/trustpoint_record.rs)
tr_seed() { # bytes as octal escapes
    printf "$1" > "$tmp/seed" && put trustpoint_record "$tmp/seed"
}
for s in 0 1 2 3 4 5 6 7 8 9; do
    o=$(printf '%03o' "$s")
    tr_seed "\\$o\\000"                      # the record as saved
    tr_seed "\\$o\\000\\000\\006\\377"          # version byte flipped
    tr_seed "\\$o\\000\\000\\100\\001\\001\\000\\020"  # two bit flips
    tr_seed "\\$o\\001\\000\\200"                # truncated at 128
    tr_seed "\\$o\\002\\000\\010\\001"          # a byte inserted in the header
done
tr_seed '\200SCEPTP\002\000'
echo "trustpoint_record: corruptions of the lab's records"

# --- ca_handle: <CA byte> <method byte> <request-target> NUL <body>  (raw mode), or
# <CA byte | 8> <messageType byte> <messageData>  (wrap mode)  (fuzz_targets/ca_handle.rs).
# CA byte bits: 1 rollover pending, 2 manual grant, 4 legacy algorithms. Raw seeds: every
# recorded request, for an auto and a manual+rollover CA, both with legacy algorithms (the
# recordings use DES and MD5). Wrap seeds: the messageData inside each recorded PKIOperation,
# decrypted with the recorded CA's key (openssl cms; a peer's DES envelope may need OpenSSL's
# legacy provider and is skipped if it does not open).
ca_seed_raw() { # ca-byte method target body-file-or-empty
    local out="$tmp/seed" byte
    case "$2" in GET) byte='\000' ;; POST) byte='\001' ;; *) return 0 ;; esac
    { printf "\\$(printf '%03o' "$1")"; printf "$byte"; printf '%s' "$3"; printf '\000'; if [ -n "$4" ]; then cat "$4"; fi; } > "$out"
    put ca_handle "$out"
}
count=0
while IFS= read -r -d '' req; do
    line=$(head -n 1 "$req" | tr -d '\r')
    method=${line%% *}
    rest=${line#* }
    target=${rest%% *}
    der="${req%.req.txt}.req.der"
    body=""
    if [ "$method" = POST ] && [ -f "$der" ]; then body=$der; fi
    ca_seed_raw 4 "$method" "$target" "$body"
    ca_seed_raw 7 "$method" "$target" "$body"
    count=$((count + 1))
done < <(find "$fixtures" -name '*.req.txt' -print0 | sort -z)
echo "ca_handle: $count recorded requests (raw)"
ca_key=$(find "$fixtures" -maxdepth 2 -name ca.key | head -n 1)
ca_pem=$(find "$fixtures" -maxdepth 2 -name ca.pem | head -n 1)
count=0
if [ -n "$ca_key" ] && [ -n "$ca_pem" ] && command -v openssl >/dev/null; then
    while IFS= read -r -d '' der; do
        case "$der" in
            *-PKCSReq.req.der) kind=0 ;; *-RenewalReq.req.der) kind=1 ;;
            *-CertPoll.req.der) kind=2 ;; *-GetCert.req.der) kind=3 ;;
            *-GetCRL.req.der) kind=4 ;; *) continue ;;
        esac
        openssl cms -verify -noverify -inform DER -in "$der" -outform DER -out "$tmp/env" \
            >/dev/null 2>&1 || continue
        openssl cms -decrypt -inform DER -in "$tmp/env" -inkey "$ca_key" -passin pass:selftest \
            -recip "$ca_pem" -out "$tmp/data" >/dev/null 2>&1 || continue
        for ca in 8 14; do
            { printf "\\$(printf '%03o' "$ca")"; printf "\\$(printf '%03o' "$kind")"; cat "$tmp/data"; } > "$tmp/seed"
            put ca_handle "$tmp/seed"
        done
        count=$((count + 1))
    done < <(find "$fixtures" -name '*PKIOperation*.req.der' -print0 | sort -z)
fi
echo "ca_handle: $count recorded messageData (wrap)"

# --- ca_records: <record selector> <record bytes>. The records of the CA the target builds,
# written by the target itself (SCEP_FUZZ_DUMP) when it runs its first input.
if cargo +nightly fuzz build ca_records >/dev/null 2>&1; then
    mkdir -p "$tmp/records" "$tmp/empty"
    printf '\000' > "$tmp/empty/one"
    SCEP_FUZZ_DUMP="$tmp/records" cargo +nightly fuzz run ca_records "$tmp/empty" -- -runs=1 \
        >/dev/null 2>&1 || true
    for f in "$tmp/records"/*; do [ -f "$f" ] && put ca_records "$f"; done
fi
echo "ca_records: $(find "$here/seeds/ca_records" -type f 2>/dev/null | wc -l) records"

for t in "$here"/seeds/*/; do
    echo "$(basename "$t"): $(find "$t" -type f | wc -l) seeds"
done
