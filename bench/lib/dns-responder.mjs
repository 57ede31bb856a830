/**
 * A minimal DNS responder for the soak's `--resolver dns` (the gateway's name served by the
 * uplink's nameserver, as on a real network): UDP only, one question per query; an A query for
 * the configured name gets one answer (TTL 5 s), AAAA for it an empty NOERROR, anything else
 * NXDOMAIN. Runs as `node -e DNS_RESPONDER <bind address> <name> <IPv4>`; prints one line per
 * query so a run shows who asked, and when.
 */
export const DNS_RESPONDER = `
const [bind, wanted, ip] = process.argv.slice(1);
const s = require('dgram').createSocket('udp4');
s.on('message', (m, r) => {
  if (m.length < 17) return;
  const labels = [];
  let i = 12;
  while (i < m.length && m[i] !== 0) { labels.push(m.subarray(i + 1, i + 1 + m[i]).toString()); i += m[i] + 1; }
  if (i + 5 > m.length) return;
  const qtype = m.readUInt16BE(i + 1);
  const name = labels.join('.').toLowerCase();
  const ours = name === wanted;
  const answer = ours && qtype === 1
    ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, ...ip.split('.').map(Number)])
    : Buffer.alloc(0);
  const head = Buffer.from(m.subarray(0, i + 5));
  head[2] = 0x80 | (m[2] & 0x01); // response, recursion desired copied
  head[3] = ours ? 0x80 : 0x83; // recursion available; NOERROR or NXDOMAIN
  head.writeUInt16BE(answer.length ? 1 : 0, 6);
  head.writeUInt32BE(0, 8);
  process.stdout.write(new Date().toISOString() + ' ' + r.address + ' asked ' + name + ' type ' + qtype + '\\n');
  s.send(Buffer.concat([head, answer]), r.port, r.address);
});
s.bind(53, bind, () => process.stdout.write('ready\\n'));`;
