/**
 * The tiny python3 program the lab runs inside its namespaces: `serve` answers on TCP and UDP
 * ports with the listener's identity (so a probe can tell *where* it landed — container or
 * host) and says on its output each probe's datagram it heard (`heard ID IDENTITY`, the id
 * the datagram carries, which NAT does not change: a datagram whose answer is lost was still
 * delivered), and `probe` makes real connections with a 1 s timeout and reports what
 * happened.
 * Python rather than busybox because one process can serve many ports and run all probes of a
 * namespace concurrently, keeping a scenario to a couple of seconds.
 */
export const AGENT_SOURCE = String.raw`
import json, socket, sys, threading, errno

said = threading.Lock()

def serve(spec):
    socks = []
    for l in spec:
        fam = socket.AF_INET6 if ':' in l['address'] else socket.AF_INET
        if l['protocol'] == 'tcp':
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((l['address'], l['port']))
            s.listen(64)
            threading.Thread(target=tcp_loop, args=(s, l['identity']), daemon=True).start()
        else:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((l['address'], l['port']))
            threading.Thread(target=udp_loop, args=(s, l['identity']), daemon=True).start()
        socks.append(s)
    sys.stdout.write('ready\n'); sys.stdout.flush()
    sys.stdin.read()  # runs until the harness closes stdin or kills it

def tcp_loop(s, ident):
    while True:
        try:
            c, _ = s.accept()
            c.sendall(ident.encode() + b'\n')
            c.close()
        except OSError:
            pass

def udp_loop(s, ident):
    while True:
        try:
            data, peer = s.recvfrom(2048)
            words = data.split()
            # only a probe's datagram: rules may loop the server's own answers back to it
            if len(words) == 3 and words[:2] == [b'dwk', b'probe']:
                with said:
                    sys.stdout.write('heard %s %s\n' % (words[2].decode(errors='replace'), ident))
                    sys.stdout.flush()
            s.sendto(ident.encode() + b'\n', peer)
        except OSError:
            pass

def classify(e, tcp):
    if isinstance(e, socket.timeout):
        return 'timeout'
    if e.errno == errno.ECONNREFUSED:
        return 'refused'
    if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM):
        return 'unreachable'
    # a datagram NAT sends where the host cannot route it (a loopback source out of another
    # interface than lo): the send itself fails
    if e.errno == errno.EINVAL and not tcp:
        return 'unreachable'
    # a reset after the handshake (the connection's later packets met no connection): refused
    if e.errno == errno.ECONNRESET:
        return 'refused'
    return 'error:' + errno.errorcode.get(e.errno, str(e.errno))

def probe_one(p, out):
    tcp = p['protocol'] == 'tcp'
    fam = socket.AF_INET6 if ':' in p['destination'] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(p['timeout'])
    r = {'id': p['id']}
    try:
        s.bind((p.get('source', ''), p['sourcePort']))
        s.connect((p['destination'], p['port']))
        if not tcp:
            s.send(('dwk probe %s\n' % p['id']).encode())
        data = s.recv(256)
        r['outcome'] = 'connected'
        r['identity'] = data.decode(errors='replace').strip()
    except (OSError, socket.timeout) as e:
        r['outcome'] = classify(e, tcp)
    finally:
        s.close()
    out.append(r)

def probe(spec):
    out = []
    threads = [threading.Thread(target=probe_one, args=(p, out)) for p in spec]
    for t in threads: t.start()
    for t in threads: t.join()
    sys.stdout.write(json.dumps(out) + '\n')

mode = sys.argv[1]
spec = json.loads(sys.argv[2])
serve(spec) if mode == 'serve' else probe(spec)
`;
