#!/usr/bin/env python3
"""Small GGUF v3 reader/writer (numpy only), plus ggml Q8_0 / Q4_0 block quantizers.

Layout of a GGUF v3 file (all little-endian):
    "GGUF"  u32 version(3)  u64 n_tensors  u64 n_kv
    n_kv times:      key (u64 len + utf-8 bytes), u32 value type, value
    n_tensors times: name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset
    padding to `general.alignment` (default 32), then the data section;
    every tensor offset is relative to the data section and aligned as well.
ne[0] is the contiguous (column / input) dimension: a numpy array of shape
(rows, cols) is stored with ne = [cols, rows], with no transposition.

Command line:
    python3 tools/gguf.py dump FILE                 metadata and tensor table
    python3 tools/gguf.py quantize IN OUT q8_0|q4_0 requantize the F32 2-D tensors
"""
import struct
import sys

import numpy as np

# metadata value types
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, \
    UINT64, INT64, FLOAT64 = range(13)
_SCALAR = {UINT8: '<B', INT8: '<b', UINT16: '<H', INT16: '<h', UINT32: '<I',
           INT32: '<i', FLOAT32: '<f', BOOL: '<?', UINT64: '<Q', INT64: '<q',
           FLOAT64: '<d'}
VALUE_TYPE_NAMES = {UINT8: 'u8', INT8: 'i8', UINT16: 'u16', INT16: 'i16',
                    UINT32: 'u32', INT32: 'i32', FLOAT32: 'f32', BOOL: 'bool',
                    STRING: 'str', ARRAY: 'arr', UINT64: 'u64', INT64: 'i64',
                    FLOAT64: 'f64'}

# ggml tensor types: id -> (name, elements per block, bytes per block)
F32, F16, Q4_0, Q8_0, BF16 = 0, 1, 2, 8, 30
TENSOR_TYPES = {F32: ('F32', 1, 4), F16: ('F16', 1, 2), Q4_0: ('Q4_0', 32, 18),
                Q8_0: ('Q8_0', 32, 34), BF16: ('BF16', 1, 2)}
TYPE_BY_NAME = {v[0].lower(): k for k, v in TENSOR_TYPES.items()}
# llama.cpp's general.file_type values for the types we can produce
FILE_TYPE = {F32: 0, F16: 1, Q4_0: 2, Q8_0: 7}

QK = 32  # block size of Q8_0 and Q4_0


# ---------------------------------------------------------------- quantizers
def quantize_q8_0(x):
    """ggml Q8_0: per block of 32, d = amax/127 (fp16), q = roundf(x * (1/d))."""
    b = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK)
    d = np.abs(b).max(axis=1) / np.float32(127)
    inv = np.zeros_like(d)
    np.divide(np.float32(1), d, out=inv, where=d != 0)
    v = (b * inv[:, None]).astype(np.float64)       # float32 product, as in C
    q = np.trunc(v + np.copysign(0.5, v))           # round half away from zero
    out = np.empty(len(b), dtype=[('d', '<f2'), ('qs', 'i1', QK)])
    out['d'] = d.astype(np.float16)
    out['qs'] = q.astype(np.int8)
    return out.tobytes()


def quantize_q4_0(x):
    """ggml Q4_0: d = (element of largest magnitude) / -8 (fp16),
    q = min(15, trunc(x * (1/d) + 8.5)); byte j = q[j] | q[j+16] << 4."""
    b = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK)
    peak = b[np.arange(len(b)), np.abs(b).argmax(axis=1)]  # first one on ties
    d = peak / np.float32(-8)
    inv = np.zeros_like(d)
    np.divide(np.float32(1), d, out=inv, where=d != 0)
    v = b * inv[:, None] + np.float32(8.5)          # all float32, as in C
    q = np.minimum(15, np.trunc(v)).astype(np.uint8)
    out = np.empty(len(b), dtype=[('d', '<f2'), ('qs', 'u1', QK // 2)])
    out['d'] = d.astype(np.float16)
    out['qs'] = q[:, :QK // 2] | (q[:, QK // 2:] << 4)
    return out.tobytes()


def encode_tensor(a, ttype):
    """Bytes of array `a` (last axis contiguous) in ggml type `ttype`."""
    a = np.asarray(a)
    if ttype == F32:
        return a.astype('<f4').tobytes()
    if ttype == F16:
        return a.astype('<f2').tobytes()
    if ttype == BF16:  # round to nearest even
        u = a.astype('<f4').view('<u4').astype(np.uint64)
        return ((u + 0x7fff + ((u >> 16) & 1)) >> 16).astype('<u2').tobytes()
    if a.shape[-1] % QK:
        raise ValueError('row length %d is not a multiple of %d' % (a.shape[-1], QK))
    if ttype == Q8_0:
        return quantize_q8_0(a)
    if ttype == Q4_0:
        return quantize_q4_0(a)
    raise ValueError('cannot encode ggml type %r' % ttype)


def decode_tensor(buf, ttype, n):
    """float32 values of n elements stored in ggml type `ttype`."""
    if ttype == F32:
        return np.frombuffer(buf, '<f4', n).astype(np.float32)
    if ttype == F16:
        return np.frombuffer(buf, '<f2', n).astype(np.float32)
    if ttype == BF16:
        return (np.frombuffer(buf, '<u2', n).astype(np.uint32) << 16).view(np.float32)
    if ttype == Q8_0:
        blk = np.frombuffer(buf, [('d', '<f2'), ('qs', 'i1', QK)], n // QK)
        return (blk['d'].astype(np.float32)[:, None] * blk['qs']).reshape(-1)
    if ttype == Q4_0:
        blk = np.frombuffer(buf, [('d', '<f2'), ('qs', 'u1', QK // 2)], n // QK)
        q = np.concatenate([blk['qs'] & 15, blk['qs'] >> 4], axis=1).astype(np.float32)
        return (blk['d'].astype(np.float32)[:, None] * (q - 8)).reshape(-1)
    raise ValueError('cannot decode ggml type %r' % ttype)


def tensor_nbytes(ne, ttype):
    _, blk, size = TENSOR_TYPES[ttype]
    n = 1
    for e in ne:
        n *= e
    return n // blk * size


# -------------------------------------------------------------------- writer
def _pack_str(s):
    b = s.encode('utf-8') if isinstance(s, str) else bytes(s)
    return struct.pack('<Q', len(b)) + b


def _pack_value(vtype, value, elem_type=None):
    if vtype == STRING:
        return _pack_str(value)
    if vtype == ARRAY:
        out = [struct.pack('<IQ', elem_type, len(value))]
        if elem_type == STRING:
            out += [_pack_str(v) for v in value]
        else:
            out.append(np.asarray(value, dtype=_SCALAR[elem_type]).tobytes())
        return b''.join(out)
    return struct.pack(_SCALAR[vtype], value)


class Writer:
    """Collect metadata and tensors, then write(path).

    w = Writer(); w.add('general.architecture', STRING, 'llama')
    w.add('tokenizer.ggml.scores', ARRAY, scores, FLOAT32)
    w.add_tensor('token_embd.weight', emb, Q8_0)   # emb shape (vocab, dim)
    """

    def __init__(self, alignment=32):
        self.alignment = alignment
        self.kv = []        # (key, vtype, value, elem_type)
        self.tensors = []   # (name, ne, ttype, bytes)

    def add(self, key, vtype, value, elem_type=None):
        self.kv.append((key, vtype, value, elem_type))

    def add_tensor(self, name, array, ttype=F32):
        array = np.asarray(array)
        ne = list(reversed(array.shape))
        self.tensors.append((name, ne, ttype, encode_tensor(array, ttype)))

    def add_raw_tensor(self, name, ne, ttype, data):
        self.tensors.append((name, list(ne), ttype, bytes(data)))

    def write(self, path):
        al = self.alignment
        pad = lambda n: (al - n % al) % al
        head = [b'GGUF', struct.pack('<IQQ', 3, len(self.tensors), len(self.kv))]
        for key, vtype, value, etype in self.kv:
            head += [_pack_str(key), struct.pack('<I', vtype), _pack_value(vtype, value, etype)]
        offset = 0
        for name, ne, ttype, data in self.tensors:
            head += [_pack_str(name), struct.pack('<I', len(ne)),
                     struct.pack('<%dQ' % len(ne), *ne), struct.pack('<IQ', ttype, offset)]
            offset += len(data) + pad(len(data))
        head = b''.join(head)
        with open(path, 'wb') as f:
            f.write(head + b'\0' * pad(len(head)))
            for _, _, _, data in self.tensors:
                f.write(data + b'\0' * pad(len(data)))


# -------------------------------------------------------------------- reader
class Reader:
    """r = Reader(path); r.kv['llama.block_count']; r.tensor('output_norm.weight')

    kv maps key -> value (arrays as lists); kv_types maps key -> (vtype, elem_type).
    tensors maps name -> dict(ne, type, offset (absolute), nbytes), in file order.
    """

    def __init__(self, path):
        with open(path, 'rb') as f:
            self.buf = f.read()
        self.pos = 0
        if self.buf[:4] != b'GGUF':
            raise ValueError('%s: not a GGUF file' % path)
        self.pos = 4
        self.version, n_tensors, n_kv = self._get('<IQQ')
        if self.version < 2:
            raise ValueError('GGUF version %d not supported' % self.version)
        self.kv, self.kv_types = {}, {}
        for _ in range(n_kv):
            key = self._str()
            vtype, = self._get('<I')
            etype = None
            if vtype == ARRAY:
                etype, count = self._get('<IQ')
                value = [self._value(etype) for _ in range(count)]
            else:
                value = self._value(vtype)
            self.kv[key], self.kv_types[key] = value, (vtype, etype)
        infos = []
        for _ in range(n_tensors):
            name = self._str()
            n_dims, = self._get('<I')
            ne = list(self._get('<%dQ' % n_dims))
            ttype, off = self._get('<IQ')
            infos.append((name, ne, ttype, off))
        al = self.kv.get('general.alignment', 32)
        self.data_offset = self.pos + (al - self.pos % al) % al
        self.tensors = {}
        for name, ne, ttype, off in infos:
            self.tensors[name] = dict(ne=ne, type=ttype, offset=self.data_offset + off,
                                      nbytes=tensor_nbytes(ne, ttype))

    def _get(self, fmt):
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals

    def _str(self):
        n, = self._get('<Q')
        s = self.buf[self.pos:self.pos + n]
        self.pos += n
        return s.decode('utf-8', errors='surrogateescape')

    def _value(self, vtype):
        if vtype == STRING:
            return self._str()
        if vtype == ARRAY:
            raise ValueError('nested arrays are not supported')
        return self._get(_SCALAR[vtype])[0]

    def raw(self, name):
        t = self.tensors[name]
        return self.buf[t['offset']:t['offset'] + t['nbytes']]

    def tensor(self, name):
        """float32 numpy array of shape reversed(ne), dequantized if needed."""
        t = self.tensors[name]
        n = int(np.prod(t['ne']))
        return decode_tensor(self.raw(name), t['type'], n).reshape(list(reversed(t['ne'])))


# ----------------------------------------------------------------------- CLI
def _show(value, vtype, etype):
    if vtype == ARRAY:
        head = ', '.join(repr(v) for v in value[:6])
        more = ', ...' if len(value) > 6 else ''
        return '[%s] x%d: [%s%s]' % (VALUE_TYPE_NAMES.get(etype, etype), len(value), head, more)
    return '%s: %r' % (VALUE_TYPE_NAMES.get(vtype, vtype), value)


def dump(path):
    r = Reader(path)
    print('%s: GGUF v%d, %d metadata keys, %d tensors, data at %d, file %d bytes'
          % (path, r.version, len(r.kv), len(r.tensors), r.data_offset, len(r.buf)))
    for key, value in r.kv.items():
        print('  %-44s %s' % (key, _show(value, *r.kv_types[key])))
    print('  %-28s %-5s %-16s %10s %10s' % ('tensor', 'type', 'ne', 'offset', 'bytes'))
    total = 0
    for name, t in r.tensors.items():
        print('  %-28s %-5s %-16s %10d %10d' % (
            name, TENSOR_TYPES.get(t['type'], ('?%d' % t['type'],))[0],
            'x'.join(map(str, t['ne'])), t['offset'] - r.data_offset, t['nbytes']))
        total += int(np.prod(t['ne']))
    print('  %d parameters' % total)


def requantize(src, dst, type_name):
    """Copy src to dst, storing every F32 2-D tensor as Q8_0 or Q4_0."""
    ttype = TYPE_BY_NAME[type_name.lower()]
    r = Reader(src)
    w = Writer(r.kv.get('general.alignment', 32))
    for key, value in r.kv.items():
        vtype, etype = r.kv_types[key]
        if key == 'general.file_type':
            value = FILE_TYPE[ttype]
        w.add(key, vtype, value, etype)
    if 'general.file_type' not in r.kv:
        w.add('general.file_type', UINT32, FILE_TYPE[ttype])
    for name, t in r.tensors.items():
        if t['type'] == F32 and len(t['ne']) == 2 and t['ne'][0] % QK == 0:
            w.add_tensor(name, r.tensor(name), ttype)
        else:
            w.add_raw_tensor(name, t['ne'], t['type'], r.raw(name))
    w.write(dst)


def main(argv):
    if len(argv) == 2 and argv[0] == 'dump':
        dump(argv[1])
    elif len(argv) == 4 and argv[0] == 'quantize' and argv[3].lower() in ('q8_0', 'q4_0'):
        requantize(argv[1], argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
