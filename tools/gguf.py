#!/usr/bin/env python3
"""The project's one GGUF reader and writer, for tools/train.py, the tests and the fuzz seeds.

Layout of a GGUF file (v2 and v3; all little-endian):
    "GGUF"  u32 version  u64 n_tensors  u64 n_kv
    n_kv times:      key (u64 length + UTF-8 bytes), u32 value type, value
    n_tensors times: name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset
    padding to `general.alignment` (default 32), then the data section; every tensor offset is
    relative to the data section and a multiple of the alignment.
A value is a scalar, a string, or an array: u32 element type, u64 count, the elements (arrays of
arrays are allowed). ne[0] is the contiguous (column) dimension: a numpy array of shape
(rows, cols) is stored with ne = [cols, rows], without transposition.

The container (Reader, Writer, gguf_bytes, rebuild) needs the standard library only, so files can
be inspected, corrupted and written anywhere; tensor values (Reader.tensor, Writer.add_tensor,
the Q8_0 / Q4_0 quantizers) need numpy.

Values: a metadata entry is (key, value type, value); an array value is (element type, items),
items typed the same way for arrays of arrays. Reader.kv gives plain values (arrays as lists).

Command line:
    python3 tools/gguf.py dump FILE                  metadata and tensor table
    python3 tools/gguf.py quantize IN OUT q8_0|q4_0  requantize the F32 2-D tensors
"""
import struct
import sys

try:
    import numpy as np
except ImportError:             # the container works without it; tensor values need it
    np = None

# metadata value types
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, \
    UINT64, INT64, FLOAT64 = range(13)
SCALAR_FORMAT = {UINT8: 'B', INT8: 'b', UINT16: 'H', INT16: 'h', UINT32: 'I', INT32: 'i',
                 FLOAT32: 'f', BOOL: '?', UINT64: 'Q', INT64: 'q', FLOAT64: 'd'}
VALUE_TYPE_NAMES = {UINT8: 'u8', INT8: 'i8', UINT16: 'u16', INT16: 'i16', UINT32: 'u32',
                    INT32: 'i32', FLOAT32: 'f32', BOOL: 'bool', STRING: 'str', ARRAY: 'arr',
                    UINT64: 'u64', INT64: 'i64', FLOAT64: 'f64'}

# ggml tensor types llm.c reads: id -> (name, elements per block, bytes per block)
F32, F16, Q4_0, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, BF16 = 0, 1, 2, 8, 10, 11, 12, 13, 14, 30
TENSOR_TYPES = {F32: ('F32', 1, 4), F16: ('F16', 1, 2), BF16: ('BF16', 1, 2),
                Q8_0: ('Q8_0', 32, 34), Q4_0: ('Q4_0', 32, 18),
                Q2_K: ('Q2_K', 256, 84), Q3_K: ('Q3_K', 256, 110), Q4_K: ('Q4_K', 256, 144),
                Q5_K: ('Q5_K', 256, 176), Q6_K: ('Q6_K', 256, 210)}
TYPE_NAME = {k: v[0] for k, v in TENSOR_TYPES.items()}
TYPE_BY_NAME = {v[0].lower(): k for k, v in TENSOR_TYPES.items()}
# llama.cpp's general.file_type values for the types written here
FILE_TYPE = {F32: 0, F16: 1, Q4_0: 2, Q8_0: 7}

QK = 32  # block size of Q8_0 and Q4_0


def tensor_nbytes(ne, ttype):
    """Bytes of a tensor of shape ne in ggml type ttype (None for a type not listed above)."""
    if ttype not in TENSOR_TYPES:
        return None
    _, blk, size = TENSOR_TYPES[ttype]
    n = 1
    for e in ne:
        n *= e
    return n // blk * size


def plain(vtype, value):
    """A typed value as plain Python: arrays become lists (of lists)."""
    if vtype == ARRAY:
        etype, items = value
        return [plain(etype, x) for x in items]
    return value


# -------------------------------------------------------------------------------- reader
class Reader:
    """A parsed GGUF file (a path, or the bytes of one).

    version, alignment, data_start (absolute start of the data section), info_end (end of the
    tensor infos), buf (the bytes);
    kvs: [key, value type, value] in file order, duplicates kept; kv: key -> plain value (the
    first of duplicates); kv_types: key -> (value type, element type or None); kv_pos: key ->
    byte position of the value;
    tensors: list of dicts name, ne, type, offset (relative to the data section), info_pos (byte
    position of the n_dims field of its info), nbytes (None for an unknown type).
    """

    def __init__(self, source):
        if isinstance(source, (bytes, bytearray)):
            self.buf = bytes(source)
        else:
            with open(source, 'rb') as f:
                self.buf = f.read()
        if self.buf[:4] != b'GGUF':
            raise ValueError('not a GGUF file (bad magic)')
        self.pos = 4
        self.version, n_tensors, n_kv = self._get('IQQ')
        if self.version < 2:
            raise ValueError('GGUF version %d not supported' % self.version)
        self.kvs, self.kv, self.kv_types, self.kv_pos = [], {}, {}, {}
        for _ in range(n_kv):
            key = self._str()
            vtype, = self._get('I')
            self.kv_pos.setdefault(key, self.pos)
            value = self._value(vtype)
            self.kvs.append([key, vtype, value])
            if key not in self.kv:
                self.kv[key] = plain(vtype, value)
                self.kv_types[key] = (vtype, value[0] if vtype == ARRAY else None)
        self.tensors = []
        for _ in range(n_tensors):
            name = self._str()
            info_pos = self.pos
            n_dims, = self._get('I')
            ne = list(self._get('%dQ' % n_dims))
            ttype, offset = self._get('IQ')
            self.tensors.append(dict(name=name, ne=ne, type=ttype, offset=offset, info_pos=info_pos,
                                     nbytes=tensor_nbytes(ne, ttype)))
        self.info_end = self.pos
        self.alignment = self.kv.get('general.alignment', 32) or 32
        self.data_start = (self.pos + self.alignment - 1) // self.alignment * self.alignment

    def _get(self, fmt):
        fmt = '<' + fmt
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals

    def _count(self):
        n, = self._get('Q')
        if n > len(self.buf):
            raise ValueError('length %d out of range at byte %d' % (n, self.pos - 8))
        return n

    def _str(self):
        n = self._count()
        s = self.buf[self.pos:self.pos + n]
        self.pos += n
        return s.decode('utf-8', errors='surrogateescape')

    def _value(self, vtype):
        if vtype == STRING:
            return self._str()
        if vtype == ARRAY:
            etype, = self._get('I')
            n = self._count()
            if etype in SCALAR_FORMAT:
                return (etype, list(self._get('%d%s' % (n, SCALAR_FORMAT[etype]))))
            return (etype, [self._value(etype) for _ in range(n)])
        if vtype not in SCALAR_FORMAT:
            raise ValueError('unknown value type %d at byte %d' % (vtype, self.pos - 4))
        return self._get(SCALAR_FORMAT[vtype])[0]

    def info(self, name):
        """The tensor's dict, or None."""
        for t in self.tensors:
            if t['name'] == name:
                return t
        return None

    def raw(self, t):
        """The bytes of a tensor (its dict or its name)."""
        t = self.info(t) if isinstance(t, str) else t
        start = self.data_start + t['offset']
        return self.buf[start:start + t['nbytes']]

    def tensor(self, name):
        """float32 numpy array of shape reversed(ne), dequantized if needed (numpy)."""
        t = self.info(name)
        n = 1
        for e in t['ne']:
            n *= e
        return decode_tensor(self.raw(t), t['type'], n).reshape(list(reversed(t['ne'])))


# -------------------------------------------------------------------------------- writer
def _pack_str(s):
    b = s.encode('utf-8', errors='surrogateescape') if isinstance(s, str) else bytes(s)
    return struct.pack('<Q', len(b)) + b


def pack_value(vtype, value):
    """The bytes of a typed value (arrays: (element type, items))."""
    if vtype == STRING:
        return _pack_str(value)
    if vtype == ARRAY:
        etype, items = value
        head = struct.pack('<IQ', etype, len(items))
        if etype in SCALAR_FORMAT:
            return head + struct.pack('<%d%s' % (len(items), SCALAR_FORMAT[etype]), *items)
        return head + b''.join(pack_value(etype, x) for x in items)
    return struct.pack('<' + SCALAR_FORMAT[vtype], value)


def gguf_bytes(kvs, tensors, version=3, alignment=32):
    """A whole GGUF file. kvs: (key, value type, value); tensors: (name, ne, ggml type, data),
    where data is bytes or the name of an earlier tensor whose data this one shares. The data is
    laid out with `alignment` whatever the kvs say (a general.alignment key is just metadata
    here, so a test can write one that lies)."""
    out = [b'GGUF', struct.pack('<IQQ', version, len(tensors), len(kvs))]
    for key, vtype, value in kvs:
        out.append(_pack_str(key) + struct.pack('<I', vtype) + pack_value(vtype, value))
    offset, at, blobs = 0, {}, []
    for name, ne, ttype, data in tensors:
        if isinstance(data, str):
            off = at[data]
        else:
            off = at[name] = offset
            pad = -len(data) % alignment
            blobs.append(bytes(data) + b'\0' * pad)
            offset += len(data) + pad
        out.append(_pack_str(name) + struct.pack('<I%dQIQ' % len(ne), len(ne), *ne, ttype, off))
    head = b''.join(out)
    return head + b'\0' * (-len(head) % alignment) + b''.join(blobs)


def rebuild(r, kvs=None, tensors=None):
    """The bytes of Reader r written again, with other kvs and/or tensor dicts (ne and type as
    the dicts say, data from r unless a dict has 'data')."""
    kvs = r.kvs if kvs is None else kvs
    tensors = r.tensors if tensors is None else tensors
    return gguf_bytes(kvs, [(t['name'], t['ne'], t['type'], t['data'] if 'data' in t else r.raw(t))
                            for t in tensors], r.version, r.alignment)


class Writer:
    """Collect metadata and tensors, then write(path):

    w = Writer(); w.add('general.architecture', STRING, 'llama')
    w.add('tokenizer.ggml.scores', ARRAY, scores, FLOAT32)
    w.add_tensor('token_embd.weight', emb, Q8_0)   # emb shape (vocab, dim), numpy
    """

    def __init__(self, alignment=32):
        self.alignment = alignment
        self.kvs = []       # (key, value type, value)
        self.tensors = []   # (name, ne, ggml type, bytes)

    def add(self, key, vtype, value, elem_type=None):
        self.kvs.append((key, vtype, (elem_type, list(value)) if vtype == ARRAY else value))

    def add_tensor(self, name, array, ttype=F32):
        array = np.asarray(array)
        self.tensors.append((name, list(reversed(array.shape)), ttype, encode_tensor(array, ttype)))

    def add_raw_tensor(self, name, ne, ttype, data):
        self.tensors.append((name, list(ne), ttype, bytes(data)))

    def write(self, path):
        with open(path, 'wb') as f:
            f.write(gguf_bytes(self.kvs, self.tensors, alignment=self.alignment))


# ------------------------------------------------------------------- tensor values (numpy)
def _need_numpy():
    if np is None:
        raise ImportError('tensor values need numpy (python3-numpy)')


def quantize_q8_0(x):
    """ggml Q8_0: per block of 32, d = amax/127 (fp16), q = roundf(x * (1/d))."""
    _need_numpy()
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
    _need_numpy()
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
    _need_numpy()
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
    """float32 values of n elements stored in ggml type `ttype` (Q8_0 and Q4_0 values d * q are
    exact in float32: an fp16 d times a small integer)."""
    _need_numpy()
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


# ----------------------------------------------------------------------------------- CLI
def _show(value, vtype, etype):
    if vtype == ARRAY:
        head = ', '.join(repr(v) for v in value[:6])
        more = ', ...' if len(value) > 6 else ''
        return '[%s] x%d: [%s%s]' % (VALUE_TYPE_NAMES.get(etype, etype), len(value), head, more)
    return '%s: %r' % (VALUE_TYPE_NAMES.get(vtype, vtype), value)


def dump(path):
    r = Reader(path)
    print('%s: GGUF v%d, %d metadata keys, %d tensors, data at %d, file %d bytes'
          % (path, r.version, len(r.kvs), len(r.tensors), r.data_start, len(r.buf)))
    for key, value in r.kv.items():
        print('  %-44s %s' % (key, _show(value, *r.kv_types[key])))
    print('  %-28s %-5s %-16s %10s %10s' % ('tensor', 'type', 'ne', 'offset', 'bytes'))
    total = 0
    for t in r.tensors:
        print('  %-28s %-5s %-16s %10d %10s' % (
            t['name'], TYPE_NAME.get(t['type'], '?%d' % t['type']), 'x'.join(map(str, t['ne'])),
            t['offset'], t['nbytes']))
        n = 1
        for e in t['ne']:
            n *= e
        total += n
    print('  %d parameters' % total)


def requantize(src, dst, type_name):
    """Copy src to dst, storing every F32 2-D tensor as Q8_0 or Q4_0."""
    ttype = TYPE_BY_NAME[type_name.lower()]
    r = Reader(src)
    w = Writer(r.alignment)
    for key, vtype, value in r.kvs:
        w.kvs.append((key, vtype, FILE_TYPE[ttype] if key == 'general.file_type' else value))
    if 'general.file_type' not in r.kv:
        w.add('general.file_type', UINT32, FILE_TYPE[ttype])
    for t in r.tensors:
        if t['type'] == F32 and len(t['ne']) == 2 and t['ne'][0] % QK == 0:
            w.add_tensor(t['name'], r.tensor(t['name']), ttype)
        else:
            w.add_raw_tensor(t['name'], t['ne'], t['type'], r.raw(t))
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
