#!/usr/bin/env python3
"""tcpproxy.py UNIX-SOCKET PORT-FILE: relay TCP connections on 127.0.0.1 to a
unix socket (the test cluster listens on no TCP port).  Picks a free port and
writes it to PORT-FILE once listening.  Used to see pgward's TCP sockets."""
import asyncio
import os
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    path, port_file = sys.argv[1], sys.argv[2]

    async def handle(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_unix_connection(path)
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pipe(creader, swriter), pipe(sreader, cwriter))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
