package dimse

import (
	"encoding/binary"
	"io"
)

// PDV is one Presentation Data Value item of a P-DATA-TF PDU: a fragment
// of a command set or a data set (PS3.8 9.3.5, Annex E).
type PDV struct {
	ContextID byte
	Command   bool // message control header bit 0: command (true) or data set
	Last      bool // message control header bit 1: last fragment
	Data      []byte
}

// PDataTF is the P-DATA-TF PDU.
type PDataTF struct {
	Items []PDV
}

// Type implements PDU.
func (*PDataTF) Type() PDUType { return TypePDataTF }

func (p *PDataTF) appendBody(b []byte) ([]byte, error) {
	if len(p.Items) == 0 {
		return nil, encErr("P-DATA-TF without a PDV item")
	}
	for _, it := range p.Items {
		if uint64(len(it.Data))+2 > 0xFFFFFFFF {
			return nil, encErr("PDV of %d bytes does not fit a 32-bit length", len(it.Data))
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(it.Data)+2))
		b = append(b, it.ContextID, mch(it.Command, it.Last))
		b = append(b, it.Data...)
	}
	return b, nil
}

func mch(command, last bool) byte {
	var h byte
	if command {
		h |= 1
	}
	if last {
		h |= 2
	}
	return h
}

// appendPDVs decodes the PDV items of a P-DATA-TF body; Data aliases body.
func appendPDVs(dst []PDV, body []byte) ([]PDV, error) {
	if len(body) == 0 {
		return dst, pduErr("P-DATA-TF without a PDV item")
	}
	for off := 0; off < len(body); {
		if len(body)-off < 4 {
			return dst, pduErr("P-DATA-TF: %d stray bytes at offset %d where a PDV length was expected", len(body)-off, off)
		}
		n := binary.BigEndian.Uint32(body[off:])
		if n < 2 {
			return dst, pduErr("P-DATA-TF: PDV item at offset %d has length %d, at least 2 needed", off, n)
		}
		if uint64(n) > uint64(len(body)-off-4) {
			return dst, pduErr("P-DATA-TF: PDV item at offset %d claims %d bytes but only %d remain", off, n, len(body)-off-4)
		}
		v := body[off+4 : off+4+int(n)]
		if v[0]%2 == 0 {
			return dst, pduErr("P-DATA-TF: PDV item at offset %d has even presentation context ID %d", off, v[0])
		}
		dst = append(dst, PDV{ContextID: v[0], Command: v[1]&1 != 0, Last: v[1]&2 != 0, Data: v[2:]})
		off += 4 + int(n)
	}
	return dst, nil
}

// defaultSendPDU bounds our P-DATA-TF PDUs when the peer sets no limit.
const defaultSendPDU = 256 << 10

// messageWriter writes DIMSE messages as P-DATA-TF PDUs, one PDV per PDU,
// fragmenting to the peer's maximum PDU length.
type messageWriter struct {
	w       io.Writer
	peerMax uint32
	buf     []byte
}

func (mw *messageWriter) fragmentSize() int {
	m := mw.peerMax
	if m == 0 || m > defaultSendPDU {
		m = defaultSendPDU
	}
	// PDU-length covers the 4-byte PDV length, context ID and header byte.
	return max(int(m)-6, 1) // negotiation refuses limits below MinPeerPDU
}

// write sends the command set and, if data is non-nil, the data set.
func (mw *messageWriter) write(pcID byte, command, data []byte) error {
	if err := mw.writeFragments(pcID, true, command); err != nil {
		return err
	}
	if data != nil {
		return mw.writeFragments(pcID, false, data)
	}
	return nil
}

func (mw *messageWriter) writeFragments(pcID byte, command bool, b []byte) error {
	frag := mw.fragmentSize()
	for {
		n := min(len(b), frag)
		last := n == len(b)
		mw.buf = append(mw.buf[:0], byte(TypePDataTF), 0)
		mw.buf = binary.BigEndian.AppendUint32(mw.buf, uint32(n+6))
		mw.buf = binary.BigEndian.AppendUint32(mw.buf, uint32(n+2))
		mw.buf = append(mw.buf, pcID, mch(command, last))
		mw.buf = append(mw.buf, b[:n]...)
		if _, err := mw.w.Write(mw.buf); err != nil {
			return err
		}
		b = b[n:]
		if last {
			return nil
		}
	}
}
