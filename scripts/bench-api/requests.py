#!/usr/bin/env python3
"""Writes signed BigBlueButton API request paths for the API load benchmark.

A mix like an LMS's: for each of N meetings, create (a real create: new meetingID, a database
write), then joins (redirect=false, so each is a full join) and getMeetingInfo calls. One path
per line; wrk's Lua script (requests.lua) walks the file in order, wrapping around (repeated
creates become duplicate creates, as an LMS retrying would send). With a fourth argument `create`: creates only, each a new
meeting (the write path alone).
"""
import hashlib
import sys
from urllib.parse import urlencode

secret, meetings, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
creates_only = len(sys.argv) > 4 and sys.argv[4] == "create"


def signed(call, params):
    qs = urlencode(params)
    c = hashlib.sha1(f"{call}{qs}{secret}".encode()).hexdigest()
    return f"/bigbluebutton/api/{call}?{qs}&checksum={c}"


with open(out, "w") as f:
    for m in range(meetings):
        mid = f"bench-{m}"
        f.write(signed("create", {"meetingID": mid, "name": f"Bench {m}", "meta_bbb-origin": "bench"}) + "\n")
        if creates_only:
            continue
        for u in range(3):
            f.write(signed("join", {"meetingID": mid, "fullName": f"User {u}", "role": "VIEWER", "userID": f"u{u}", "redirect": "false"}) + "\n")
            f.write(signed("getMeetingInfo", {"meetingID": mid}) + "\n")
