"""Real connections on 127.0.0.1:PORT for the capture tests, one after
another, 0.2 s apart:

1. graceful: request, reply, the client closes, then the server;
2. reset: the client closes with SO_LINGER {1, 0}, so the kernel sends RST;
3. half-close: the client shuts down its sending side, the server replies
   after the client's FIN, then both close.
"""
import socket
import struct
import sys
import time

from loopback import serve_on

port = int(sys.argv[1])


def serve(srv):
    for i in range(3):
        c, _ = srv.accept()
        try:
            c.recv(100)
            if i == 2:
                c.recv(100)  # the client's FIN
                c.sendall(b"reply after your FIN")
            else:
                c.sendall(b"pong")
                c.recv(100)  # EOF, or the reset
        except OSError:
            pass
        c.close()


t = serve_on(port, 4, serve)
for mode in ("graceful", "reset", "half-close"):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"ping")
    if mode == "half-close":
        s.shutdown(socket.SHUT_WR)
        s.recv(100)
    else:
        s.recv(100)
    if mode == "reset":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    time.sleep(0.2)
t.join()
