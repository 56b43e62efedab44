#!/usr/bin/env python3
"""Client and server halves of each testdata scenario.

Run by make-testdata.sh inside network namespaces; each scenario drives the
real Linux TCP stack through one way of ending a connection. Standard
library only.

    tcpapp.py server MODE HOST PORT
    tcpapp.py client MODE HOST PORT
"""
import socket
import struct
import subprocess
import sys
import time

REQUEST = b"GET /finscope HTTP/1.1\r\nHost: test\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n"


def linger0(s):
    # SO_LINGER on with a zero timeout: close() sends RST (RFC 9293 §3.6:
    # an abort) instead of FIN.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def nft(rule, add=True):
    """Adds a drop rule in this process's network namespace (or removes
    them all)."""
    if add:
        subprocess.run(["nft", "add table inet tcpapp"], check=True)
        subprocess.run(["nft", "add chain inet tcpapp input { type filter hook input priority 0; }"], check=True)
        subprocess.run(["nft", "add rule inet tcpapp input %s drop" % rule], check=True)
    else:
        subprocess.run(["nft", "delete table inet tcpapp"], check=False)


PAYLOAD_LEN = 300_000


def payload(seed, n):
    """Known bytes (xorshift32, low byte of each step); tests/streams.rs
    regenerates them to check the exported streams byte for byte."""
    x = seed
    out = bytearray(n)
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)


def recv_until_eof(c):
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            return data
        data += chunk


def recv_until_eof_or(c, n):
    """Reads until `n` bytes came (or EOF)."""
    got = 0
    while got < n:
        chunk = c.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)


def listener(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)
    return s


def connect(host, port, timeout=5.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.connect((host, port))
    return c


PILEUP = 150


def server(mode, host, port):
    s = listener(host, port)
    print("ready", flush=True)
    if mode == "tw-pileup":
        # Serve PILEUP short connections; the client closes each first.
        for _ in range(PILEUP):
            c, _ = s.accept()
            c.recv(65536)
            c.sendall(RESPONSE)
            recv_until_eof(c)
            c.close()
        return
    if mode == "cw-pileup":
        # A leaking server: it never closes what its clients closed.
        leaked = []
        for _ in range(PILEUP // 5):
            c, _ = s.accept()
            recv_until_eof(c)
            leaked.append(c)
        time.sleep(30)
        return
    c, _ = s.accept()
    if mode == "simultaneous":
        c.recv(65536)
        c.sendall(RESPONSE)
        # Drop the client's first FIN so both FINs are in flight at once.
        nft("tcp dport %d tcp flags & fin == fin" % port)
        time.sleep(0.12)
        c.close()
        time.sleep(0.15)
        nft(None, add=False)
        time.sleep(2)
        return
    if mode in ("final-ack-lost", "last-ack-reset"):
        c.recv(65536)
        c.sendall(RESPONSE)
        # The client's final ACK is lost after the tap: this host drops
        # every pure ACK for a second, so its FIN is retransmitted.
        nft("tcp dport %d tcp flags == ack" % port)
        recv_until_eof(c)
        c.close()
        time.sleep(1.0)
        nft(None, add=False)
        time.sleep(2)
        return
    if mode in ("tw-reuse-accepted", "tw-reuse-rejected"):
        # The server closes first and holds TIME-WAIT; the client comes
        # back from the same port.
        recv_until_eof_or(c, 100 << 20 if mode == "tw-reuse-rejected" else 1)
        c.sendall(RESPONSE)
        c.close()
        s.settimeout(4)
        try:
            c2, _ = s.accept()
            c2.recv(65536)
            c2.sendall(RESPONSE)
            recv_until_eof(c2)
            c2.close()
        except socket.timeout:
            pass
        time.sleep(0.5)
        return
    if mode == "payload":
        got = recv_until_eof(c)
        if got != payload(1, PAYLOAD_LEN):
            print("server: the client's payload arrived damaged", file=sys.stderr)
        c.sendall(payload(2, PAYLOAD_LEN))
        c.close()
        time.sleep(0.5)
        return
    if mode == "lossy":
        recv_until_eof_or(c, 2 << 20)
        c.sendall(b"s" * (2 << 20))
        recv_until_eof(c)
        c.close()
        time.sleep(0.5)
        return
    if mode == "zero-window":
        # Never reads: the receive buffer fills and the window closes.
        time.sleep(30)
        return
    if mode in ("graceful-client", "ipv6", "nano", "pcapng", "any", "midstream"):
        c.recv(65536)
        c.sendall(RESPONSE)
        recv_until_eof(c)  # the client closes first
        time.sleep(0.2)  # its FIN is acked on its own: a four-packet close
        c.close()
    elif mode == "bulk":
        c.recv(65536)
        c.sendall(b"0123456789abcdef" * 2000)  # 32000 bytes
        recv_until_eof(c)
        c.close()
    elif mode == "graceful-server":
        c.recv(65536)
        c.sendall(RESPONSE)
        c.close()  # the server closes first (HTTP/1.0 style)
        time.sleep(0.5)
    elif mode == "three-way":
        c.recv(65536)
        c.sendall(RESPONSE)
        recv_until_eof(c)
        c.close()  # at once: the ACK of the client's FIN rides on ours
    elif mode == "half-close":
        recv_until_eof(c)  # the client shut down its sending side
        for i in range(3):
            time.sleep(0.1)
            c.sendall(b"chunk %d after your FIN\n" % i)
        c.close()
    elif mode == "close-wait":
        recv_until_eof(c)
        # Never closes while the capture runs. A second connection, served
        # normally, shows the capture went on.
        c2, _ = s.accept()
        c2.recv(65536)
        c2.sendall(RESPONSE)
        recv_until_eof(c2)
        c2.close()
        time.sleep(30)
    elif mode == "fin-unacked":
        c.recv(65536)
        c.sendall(RESPONSE)
        time.sleep(30)  # the host is cut off before the client's FIN
    elif mode == "rst-client":
        c.recv(65536)
        c.sendall(RESPONSE)
        try:
            recv_until_eof(c)
        except ConnectionResetError:
            pass
    elif mode == "rst-server":
        c.recv(65536)
        c.sendall(RESPONSE)
        time.sleep(0.2)
        linger0(c)
        c.close()
    elif mode == "rst-unread":
        c.recv(16)  # read only the start of the request
        time.sleep(0.3)
        c.close()  # unread data in the receive buffer: Linux sends RST
    time.sleep(0.5)


def client(mode, host, port):
    if mode == "tw-pileup":
        # Each connection closes from this side first: this host keeps one
        # TIME-WAIT per connection, all toward the same server port.
        for _ in range(PILEUP):
            c = connect(host, port)
            c.sendall(REQUEST)
            c.recv(65536)
            c.close()
            time.sleep(0.01)
        time.sleep(0.3)
        return
    if mode == "cw-pileup":
        for _ in range(PILEUP // 5):
            c = connect(host, port)
            c.sendall(REQUEST)
            c.close()
            time.sleep(0.02)
        time.sleep(0.5)
        return
    if mode == "simultaneous":
        c = connect(host, port)
        c.sendall(REQUEST)
        c.recv(65536)
        nft("tcp sport %d tcp flags & fin == fin" % port)
        time.sleep(0.1)
        c.close()
        time.sleep(0.17)
        nft(None, add=False)
        time.sleep(2)
        return
    if mode in ("final-ack-lost", "last-ack-reset"):
        c = connect(host, port)
        c.sendall(REQUEST)
        c.recv(65536)
        time.sleep(0.1)
        c.close()
        time.sleep(2.5)
        return
    if mode in ("tw-reuse-accepted", "tw-reuse-rejected"):
        c = connect(host, port)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        local = c.getsockname()
        if mode == "tw-reuse-rejected":
            c.sendall(b"r" * (100 << 20))
        else:
            c.sendall(REQUEST)
        c.recv(65536)
        recv_until_eof(c)
        c.close()
        time.sleep(0.2)
        # The same source port again, while the server holds TIME-WAIT.
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        c2 = socket.socket(fam, socket.SOCK_STREAM)
        c2.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c2.bind(local)
        c2.settimeout(3.5)
        try:
            c2.connect((host, port))
            c2.sendall(REQUEST)
            c2.recv(65536)
            c2.close()
        except (socket.timeout, OSError):
            pass
        time.sleep(0.3)
        return
    if mode == "payload":
        # Known bytes each way: the client sends and half-closes, the server
        # answers after reading them all, then both close.
        c = connect(host, port)
        c.sendall(payload(1, PAYLOAD_LEN))
        c.shutdown(socket.SHUT_WR)
        got = recv_until_eof(c)
        if got != payload(2, PAYLOAD_LEN):
            print("client: the server's payload arrived damaged", file=sys.stderr)
        c.close()
        time.sleep(1.0)
        return
    if mode == "lossy":
        c = connect(host, port)
        c.sendall(b"c" * (2 << 20))
        got = 0
        while got < (2 << 20):
            got += len(c.recv(1 << 20))
        c.close()
        time.sleep(1.0)
        return
    if mode == "zero-window":
        c = connect(host, port, timeout=2.0)
        try:
            while True:
                c.sendall(b"z" * 65536)
        except (socket.timeout, OSError):
            pass
        time.sleep(3.5)  # stuck: the kernel sends zero-window probes
        return
    if mode == "refused":
        try:
            connect(host, port)
        except ConnectionRefusedError:
            pass
        return
    if mode == "no-answer":
        try:
            connect(host, port, timeout=3.5)
        except (socket.timeout, OSError):
            pass
        return
    c = connect(host, port)
    if mode in ("graceful-client", "ipv6", "nano", "pcapng", "any", "three-way"):
        c.sendall(REQUEST)
        c.recv(65536)
        time.sleep(0.1)
        c.close()
    elif mode == "bulk":
        c.sendall(REQUEST)
        got = 0
        while got < 32000:
            got += len(c.recv(65536))
        c.close()
    elif mode == "midstream":
        # The capture starts while this connection is open.
        time.sleep(1.0)
        c.sendall(REQUEST)
        c.recv(65536)
        time.sleep(0.1)
        c.close()
    elif mode == "graceful-server":
        c.sendall(REQUEST)
        recv_until_eof(c)
        time.sleep(0.1)
        c.close()
    elif mode == "half-close":
        c.sendall(REQUEST)
        c.shutdown(socket.SHUT_WR)
        recv_until_eof(c)
        c.close()
    elif mode == "close-wait":
        c.sendall(REQUEST)
        c.close()
        time.sleep(3)
        c2 = connect(host, port)
        c2.sendall(REQUEST)
        c2.recv(65536)
        c2.close()
    elif mode == "fin-unacked":
        c.sendall(REQUEST)
        c.recv(65536)
        time.sleep(1.0)  # make-testdata.sh drops everything at the server now
        c.close()  # the orphaned socket retransmits its FIN
    elif mode == "rst-client":
        c.sendall(REQUEST)
        c.recv(65536)
        time.sleep(0.2)
        linger0(c)
        c.close()
    elif mode == "rst-server":
        c.sendall(REQUEST)
        try:
            recv_until_eof(c)
        except ConnectionResetError:
            pass
        c.close()
    elif mode == "rst-unread":
        c.sendall(REQUEST + b"x" * 1000)
        try:
            recv_until_eof(c)
        except ConnectionResetError:
            pass
        c.close()
    time.sleep(0.3)


if __name__ == "__main__":
    role, mode, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    (server if role == "server" else client)(mode, host, port)
