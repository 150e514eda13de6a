#!/usr/bin/env python3
"""Large-object upload speed against the disk's own: alternating rounds of `dd ... conv=fsync`
of a file, a single PUT of it (curl) and a multipart upload of it (parts sent in parallel by
`curl -Z`, then CompleteMultipartUpload), all to a running Nimbus (unsigned path-style requests,
so `--enforce-sigv4` must be off).

    target/release/nimbus serve --port 4599 --data-dir /tmp/mp/data &
    python3 bench/s3_multipart.py --endpoint http://127.0.0.1:4599 --size-mib 256 --rounds 3
"""

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request


def request(method, url, data=None):
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req) as resp:
        return resp.status, resp.read().decode()


def dd(src, dst):
    start = time.monotonic()
    subprocess.run(["dd", f"if={src}", f"of={dst}", "bs=1M", "conv=fsync"], check=True, capture_output=True)
    elapsed = time.monotonic() - start
    os.remove(dst)
    return elapsed


def single_put(endpoint, bucket, key, path):
    start = time.monotonic()
    subprocess.run(["curl", "-sf", "-T", path, f"{endpoint}/{bucket}/{key}", "-o", "/dev/null"], check=True)
    return time.monotonic() - start


def multipart(endpoint, bucket, key, parts, parallel):
    start = time.monotonic()
    _, body = request("POST", f"{endpoint}/{bucket}/{key}?uploads")
    upload = re.search(r"<UploadId>(.*?)</UploadId>", body).group(1)
    args = ["curl", "-sf", "--no-progress-meter", "-Z", "--parallel-max", str(parallel)]
    for n, part in enumerate(parts, 1):
        args += ["-T", part, f"{endpoint}/{bucket}/{key}?partNumber={n}&uploadId={upload}", "-o", "/dev/null"]
    subprocess.run(args, check=True)
    _, listing = request("GET", f"{endpoint}/{bucket}/{key}?uploadId={upload}")
    etags = {int(n): e for e, n in re.findall(r"<Part><ETag>(.*?)</ETag>.*?<PartNumber>(\d+)</PartNumber>", listing)}
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etags[n]}</ETag></Part>" for n in range(1, len(parts) + 1)
    ) + "</CompleteMultipartUpload>"
    status, _ = request("POST", f"{endpoint}/{bucket}/{key}?uploadId={upload}", xml.encode())
    assert status == 200, status
    return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", default="http://127.0.0.1:4566")
    ap.add_argument("--bucket", default="mpbench")
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--part-mib", type=int, default=8, help="8 MiB, as the AWS CLI sends")
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default=None, help="where the test file and parts go (the disk dd measures)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(dir=args.dir)
    path = os.path.join(work, "object.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(args.size_mib << 20))
    parts_dir = os.path.join(work, "parts")
    os.mkdir(parts_dir)
    subprocess.run(["split", "-b", f"{args.part_mib}M", "-d", "-a", "4", path, os.path.join(parts_dir, "p.")], check=True)
    parts = sorted(os.path.join(parts_dir, p) for p in os.listdir(parts_dir))
    request("PUT", f"{args.endpoint}/{args.bucket}")
    size = args.size_mib << 20
    rows = {"dd conv=fsync": [], "single PUT": [], f"multipart ({args.part_mib} MiB parts, {args.parallel} at once)": []}
    for r in range(args.rounds):
        timings = [
            dd(path, os.path.join(work, "copy")),
            single_put(args.endpoint, args.bucket, f"single-{r}", path),
            multipart(args.endpoint, args.bucket, f"multi-{r}", parts, args.parallel),
        ]
        for (name, samples), t in zip(rows.items(), timings):
            samples.append(size / t / 1e6)
        print(f"round {r + 1}: " + ", ".join(f"{n} {s[-1]:.0f} MB/s" for n, s in rows.items()), flush=True)
    disk = statistics.median(rows["dd conv=fsync"])
    print(f"\n{args.size_mib} MiB, {args.rounds} rounds, median MB/s (share of dd's median):")
    for name, samples in rows.items():
        m = statistics.median(samples)
        print(f"  {name:45} {m:7.0f}  ({m / disk:.0%})  rounds: {', '.join(f'{x:.0f}' for x in samples)}")
    subprocess.run(["rm", "-rf", work], check=True)


if __name__ == "__main__":
    main()
