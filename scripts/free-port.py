#!/usr/bin/env python3
"""Prints a TCP port p usable for a broker: p, p-2 (VIP channel) and p+1 (HA) are all free on 127.0.0.1."""
import random
import socket


def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


while True:
    # Below 32768: the ephemeral range starts there, and TIME-WAIT client sockets could hold p-2 or p+1.
    p = random.randint(20000, 32000)
    if all(free(q) for q in (p - 2, p, p + 1)):
        print(p)
        break
