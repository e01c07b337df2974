package ring

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// Spill file layout (little endian):
//
//	"LSMSRNG1"                 magic
//	u64 seq
//	u8  format
//	5 × (u16 length, bytes)    Source, Name, SOPClassUID, SOPInstanceUID, TransferSyntaxUID
//	u32 data length, data
//	u32 CRC-32 (IEEE) of everything before it
const (
	spillMagic = "LSMSRNG1"
	spillExt   = ".slice"
)

// EncodeSpill returns the spill-file form of a slice.
func EncodeSpill(meta Meta, data []byte) ([]byte, error) {
	strs := [...]string{meta.Source, meta.Name, meta.SOPClassUID, meta.SOPInstanceUID, meta.TransferSyntaxUID}
	n := len(spillMagic) + 8 + 1 + 4 + len(data) + 4
	for _, s := range strs {
		if len(s) > 0xFFFF {
			return nil, fmt.Errorf("%w: metadata field of %d bytes", ErrSpill, len(s))
		}
		n += 2 + len(s)
	}
	if uint64(len(data)) > 0xFFFFFFFF {
		return nil, fmt.Errorf("%w: %d bytes of data", ErrSpill, len(data))
	}
	b := make([]byte, 0, n)
	b = append(b, spillMagic...)
	b = binary.LittleEndian.AppendUint64(b, meta.Seq)
	b = append(b, byte(meta.Format))
	for _, s := range strs {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

// DecodeSpill parses a spill file; data aliases b. Errors match
// ErrSpillFile and say what is wrong.
func DecodeSpill(b []byte) (Meta, []byte, error) {
	bad := func(format string, args ...any) (Meta, []byte, error) {
		return Meta{}, nil, fmt.Errorf("%w: "+format, append([]any{ErrSpillFile}, args...)...)
	}
	if len(b) < len(spillMagic)+8+1+4 || string(b[:len(spillMagic)]) != spillMagic {
		return bad("no %s header", spillMagic)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return bad("checksum mismatch (truncated or corrupted)")
	}
	var m Meta
	off := len(spillMagic)
	m.Seq = binary.LittleEndian.Uint64(body[off:])
	off += 8
	m.Format = Format(body[off])
	off++
	if m.Format > File {
		return bad("unknown format %d", m.Format)
	}
	for _, dst := range []*string{&m.Source, &m.Name, &m.SOPClassUID, &m.SOPInstanceUID, &m.TransferSyntaxUID} {
		if len(body)-off < 2 {
			return bad("truncated metadata at offset %d", off)
		}
		n := int(binary.LittleEndian.Uint16(body[off:]))
		off += 2
		if len(body)-off < n {
			return bad("metadata field of %d bytes overruns the file at offset %d", n, off)
		}
		*dst = string(body[off : off+n])
		off += n
	}
	if len(body)-off < 4 {
		return bad("no data length at offset %d", off)
	}
	n := binary.LittleEndian.Uint32(body[off:])
	off += 4
	if uint64(n) != uint64(len(body)-off) {
		return bad("data length %d but %d bytes follow", n, len(body)-off)
	}
	return m, body[off:], nil
}

func spillName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, spillExt) }

// spill writes a slice to the spill directory; r.mu is held.
func (r *Ring) spill(meta Meta, data []byte) error {
	meta.Seq = r.seq.Add(1)
	b, err := EncodeSpill(meta, data)
	if err != nil {
		return err
	}
	name := spillName(meta.Seq)
	if err := writeAtomic(r.dir, name, b); err != nil {
		r.log.Error("ring: cannot spill slice", "source", meta.Source, "name", meta.Name, "err", err)
		return fmt.Errorf("%w: %v", ErrSpill, err)
	}
	r.received.Add(1)
	r.spilled.Add(1)
	r.backlog = append(r.backlog, name)
	r.log.Debug("ring: spilled slice", "source", meta.Source, "seq", meta.Seq, "name", meta.Name, "backlog", len(r.backlog))
	return nil
}

// writeAtomic writes dir/name through a temporary file, fsync and rename,
// so a reader never sees a partial file.
func writeAtomic(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, ".spill-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// unspillInto moves spilled slices, oldest first, into slot idx until one
// loads; it reports whether the slot was queued. Unreadable files are
// counted as dropped, logged and renamed to *.bad. r.mu is held.
func (r *Ring) unspillInto(idx int32) bool {
	for len(r.backlog) > 0 {
		name := r.backlog[0]
		r.backlog[0] = ""
		r.backlog = r.backlog[1:]
		path := filepath.Join(r.dir, name)
		b, err := os.ReadFile(path)
		var meta Meta
		var data []byte
		if err == nil {
			meta, data, err = DecodeSpill(b)
		}
		if err == nil && len(data) > r.slotBytes {
			err = &TooLargeError{Name: meta.Name, Size: len(data), Max: r.slotBytes}
		}
		if err != nil {
			r.dropped.Add(1)
			r.log.Error("ring: spilled slice unreadable, dropped", "file", path, "err", err)
			os.Rename(path, path+".bad")
			continue
		}
		s := &r.slots[idx]
		s.Meta = meta
		s.Data = s.buf[:len(data)]
		copy(s.Data, data)
		if err := os.Remove(path); err != nil {
			r.log.Warn("ring: cannot remove re-ingested spill file", "file", path, "err", err)
		}
		r.unspilled.Add(1)
		s.state.Store(slotQueued)
		r.queue <- idx
		return true
	}
	return false
}
