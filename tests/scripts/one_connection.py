"""One real connection on 127.0.0.1:PORT, DELAY seconds after start, just
before the script exits: request, reply, the client closes, then the
server. For the test that a capture stopped right after its command keeps
the command's last packets.
"""
import socket
import sys
import threading
import time

port = int(sys.argv[1])
delay = float(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)


def serve():
    c, _ = srv.accept()
    c.recv(100)
    c.sendall(b"pong")
    c.recv(100)  # EOF
    c.close()


t = threading.Thread(target=serve)
t.start()
time.sleep(delay)
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"ping")
s.recv(100)
s.close()
t.join()
