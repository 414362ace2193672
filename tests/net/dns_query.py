# Ask the sandbox's DNS stub (127.0.0.1:53, UDP) for NAME's A record; prints
# "rcode=N answers=M [addr]".
import socket, struct, sys

name = sys.argv[1]
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
for label in name.split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(q, ("127.0.0.1", 53))
r, _ = s.recvfrom(4096)
rcode = r[3] & 0xF
an = struct.unpack(">H", r[6:8])[0]
addr = socket.inet_ntoa(r[-4:]) if an else ""
print(f"rcode={rcode} answers={an} {addr}".strip())
