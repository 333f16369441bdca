#!/usr/bin/env python3
"""Samples a QEMU guest's instruction pointer through QEMU's gdbstub.

ipsample.py PORT SECONDS OUT: connects to the gdbstub on 127.0.0.1:PORT
(waiting up to a minute for QEMU to listen), then until SECONDS have passed
or QEMU exits, repeatedly: reads rip and rsp of the stopped guest and the
8 bytes at rsp (the return address of a function that keeps no frame, such
as memset), lets the guest run for about 3 ms and interrupts it. QEMU stops
the guest when the debugger connects, so the first sample is taken at once.
Writes "IP COUNT RETURN" lines (hex, decimal, hex) to OUT.
"""
import collections
import socket
import sys
import time


def send(sock, data):
    body = data.encode()
    sock.sendall(b"$" + body + b"#%02x" % (sum(body) & 0xFF))


def receive(sock, buf):
    """One packet's payload (acknowledged) and the bytes after it."""
    while True:
        i = buf.find(b"$")
        j = buf.find(b"#", i + 1) if i >= 0 else -1
        if i >= 0 and j >= 0 and len(buf) >= j + 3:
            sock.sendall(b"+")
            return buf[i + 1:j].decode(errors="replace"), buf[j + 3:]
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk


def register(sock, buf, number):
    send(sock, "p%x" % number)
    r, buf = receive(sock, buf)
    value = int.from_bytes(bytes.fromhex(r), "little") if len(r) == 16 else None
    return value, buf


def main():
    port, seconds, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    sock = None
    for _ in range(600):
        try:
            sock = socket.create_connection(("127.0.0.1", port))
            break
        except OSError:
            time.sleep(0.1)
    if sock is None:
        sys.exit("ipsample: no gdbstub on port %d" % port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    send(sock, "?")
    _, buf = receive(sock, buf)
    counts = collections.Counter()
    end = time.time() + seconds
    try:
        while time.time() < end:
            ip, buf = register(sock, buf, 0x10)  # rip
            sp, buf = register(sock, buf, 0x7)  # rsp
            ret = 0
            if sp is not None:
                send(sock, "m%x,8" % sp)
                m, buf = receive(sock, buf)
                if len(m) == 16:
                    ret = int.from_bytes(bytes.fromhex(m), "little")
            if ip is not None:
                counts[(ip, ret)] += 1
            send(sock, "c")
            time.sleep(0.003)
            sock.sendall(b"\x03")
            while True:
                r, buf = receive(sock, buf)
                if r[:1] in ("S", "T"):
                    break
        send(sock, "D")
    except (EOFError, OSError):
        pass  # QEMU exited: the guest is done
    with open(out, "w") as f:
        for (ip, ret), n in counts.items():
            f.write("%x %d %x\n" % (ip, n, ret))
    print("ipsample: %d samples" % sum(counts.values()))


main()
