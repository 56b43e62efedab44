"""What the loopback traffic scripts share: a listener on 127.0.0.1:PORT,
and its server loop on a thread of its own."""
import socket
import threading


def serve_on(port, backlog, serve):
    """Listens on 127.0.0.1:`port` (ready before this returns, so the
    client cannot connect too early) and runs `serve(listener)` on a thread,
    which is returned started."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(backlog)
    t = threading.Thread(target=serve, args=(srv,))
    t.start()
    return t
