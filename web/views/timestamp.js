// Reads the fields a reviewer wants to see (time, TSA, serial, hashed digest) out of
// an RFC 3161 time-stamp reply, for display only. This is not verification: the
// server's POST /verify and, offline, `openssl ts -verify` check the signature.
// DER only (which is what RFC 3161 requires); anything unexpected returns null.

function readTlv(bytes, pos) {
  if (pos + 2 > bytes.length) throw new Error('truncated');
  const tag = bytes[pos];
  let len = bytes[pos + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + 2 + n > bytes.length) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[pos + 2 + i];
    hdr += n;
  }
  const start = pos + hdr;
  const end = start + len;
  if (end > bytes.length) throw new Error('truncated');
  return { tag, start, end, next: end };
}

function children(bytes, tlv) {
  const out = [];
  let p = tlv.start;
  while (p < tlv.end) {
    const c = readTlv(bytes, p);
    out.push(c);
    p = c.next;
  }
  return out;
}

// Arcs can exceed 2^53 (2.25.<UUID> policies), hence BigInt.
function oid(bytes, tlv) {
  const parts = [];
  let v = 0n;
  for (let i = tlv.start; i < tlv.end; i++) {
    v = v * 128n + BigInt(bytes[i] & 0x7f);
    if (!(bytes[i] & 0x80)) {
      if (parts.length === 0) parts.push(v < 80n ? v / 40n : 2n, v < 80n ? v % 40n : v - 80n);
      else parts.push(v);
      v = 0n;
    }
  }
  return parts.join('.');
}

const hex = (bytes, tlv) =>
  Array.from(bytes.subarray(tlv.start, tlv.end), (b) => b.toString(16).padStart(2, '0')).join('');
const text = (bytes, tlv) => new TextDecoder().decode(bytes.subarray(tlv.start, tlv.end));

const SIGNED_DATA = '1.2.840.113549.1.7.2';
const TST_INFO = '1.2.840.113549.1.9.16.1.4';
const CN = '2.5.4.3';
const ORG = '2.5.4.10';
const HASHES = {
  '2.16.840.1.101.3.4.2.1': 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
  '1.3.14.3.2.26': 'SHA-1',
};

// "20261127210649Z" or with fractions -> "2026-11-27T21:06:49Z"
function generalizedTime(s) {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(s);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] || ''}Z` : s;
}

// Name (RDNSequence) -> "CN=..., O=..." for the attributes we know.
function nameText(bytes, seq) {
  const parts = [];
  for (const rdn of children(bytes, seq)) {
    for (const atv of children(bytes, rdn)) {
      const [t, v] = children(bytes, atv);
      const id = oid(bytes, t);
      const label = id === CN ? 'CN' : id === ORG ? 'O' : null;
      if (label) parts.push(`${label}=${text(bytes, v)}`);
    }
  }
  return parts.join(', ');
}

// bytes: Uint8Array of a TimeStampResp or of a bare token (ContentInfo).
export function parseTimestamp(bytes) {
  try {
    const top = readTlv(bytes, 0);
    let items = children(bytes, top);
    let status = null;
    if (items[0] && items[0].tag === 0x30) {
      // TimeStampResp: PKIStatusInfo, then the token.
      const st = children(bytes, items[0]);
      status = st[0] ? parseInt(hex(bytes, st[0]) || '0', 16) : null;
      if (!items[1]) return { status };
      items = children(bytes, items[1]);
    }
    if (oid(bytes, items[0]) !== SIGNED_DATA) return null;
    const signedData = children(bytes, children(bytes, items[1])[0]);
    const encap = children(bytes, signedData[2]);
    if (oid(bytes, encap[0]) !== TST_INFO) return null;
    const octets = children(bytes, encap[1])[0];
    const tst = children(bytes, readTlv(bytes, octets.start));
    // version, policy, messageImprint, serialNumber, genTime, then optional fields.
    const imprint = children(bytes, tst[2]);
    const out = {
      status,
      policy: oid(bytes, tst[1]),
      hash_algorithm: HASHES[oid(bytes, children(bytes, imprint[0])[0])] || oid(bytes, children(bytes, imprint[0])[0]),
      hashed: hex(bytes, imprint[1]),
      serial: hex(bytes, tst[3]).replace(/^0+(?=.)/, ''),
      time: generalizedTime(text(bytes, tst[4])),
      tsa: '',
    };
    for (const f of tst.slice(5)) {
      if (f.tag === 0xa0) {
        // tsa [0] GeneralName; directoryName is [4] holding a Name.
        const gn = children(bytes, f)[0];
        if (gn && gn.tag === 0xa4) out.tsa = nameText(bytes, children(bytes, gn)[0]);
      }
    }
    if (!out.tsa && signedData[3] && signedData[3].tag === 0xa0) {
      // No tsa field: name the first certificate's subject (the signer, normally).
      const cert = children(bytes, signedData[3])[0];
      const tbs = children(bytes, children(bytes, cert)[0]);
      const off = tbs[0].tag === 0xa0 ? 1 : 0; // explicit version
      out.tsa = nameText(bytes, tbs[off + 4]);
    }
    return out;
  } catch {
    return null;
  }
}
