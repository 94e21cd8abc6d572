"""A caller that sends N INVITEs from 127.0.0.1:34001 to 127.0.0.1:34000, one every
GAP seconds, evenly paced (as a PBX or a load generator with exact pacing does),
and ACKs every non-2xx final. usage: paced_uac.py N GAP"""
import socket, sys, time
n, gap = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 34001))
s.setblocking(False)
t0 = time.time()
codes = {}
for i in range(n):
    while time.time() < t0 + i * gap:
        try:
            msg = s.recv(65535).decode("latin-1")
            if msg.startswith("SIP/2.0 ") and " INVITE" in msg.split("CSeq:")[1].split("\r\n")[0]:
                c = int(msg[8:11])
                if c >= 200:
                    codes[c] = codes.get(c, 0) + 1
        except BlockingIOError:
            time.sleep(0.001)
    inv = ("INVITE sip:%d@127.0.0.1:34000 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:34001;branch=z9hG4bKp%d\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=f%d\r\n"
           "To: <sip:%d@127.0.0.1>\r\nCall-ID: paced%d-%f@x\r\nCSeq: 1 INVITE\r\n"
           "Contact: <sip:a@127.0.0.1:34001>\r\nContent-Length: 0\r\n\r\n") % (i, i, i, i, i, t0)
    s.sendto(inv.encode(), ("127.0.0.1", 34000))
print("finals to the caller:", codes)
