"""One real connection on 127.0.0.1:PORT, DELAY seconds after start, just
before the script exits: request, reply, the client closes, then the
server. For the test that a capture stopped right after its command keeps
the command's last packets.
"""
import socket
import sys
import time

from loopback import serve_on

port = int(sys.argv[1])
delay = float(sys.argv[2])


def serve(srv):
    c, _ = srv.accept()
    c.recv(100)
    c.sendall(b"pong")
    c.recv(100)  # EOF
    c.close()


t = serve_on(port, 1, serve)
time.sleep(delay)
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"ping")
s.recv(100)
s.close()
t.join()
