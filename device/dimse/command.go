package dimse

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// CommandField is the Command Field (0000,0100) of a DIMSE message.
type CommandField uint16

// Command fields (PS3.7 E.1).
const (
	CStoreRQ  CommandField = 0x0001
	CStoreRSP CommandField = 0x8001
	CGetRQ    CommandField = 0x0010
	CFindRQ   CommandField = 0x0020
	CMoveRQ   CommandField = 0x0021
	CEchoRQ   CommandField = 0x0030
	CEchoRSP  CommandField = 0x8030
	CCancelRQ CommandField = 0x0FFF
)

// IsResponse reports whether f is a response (high bit set).
func (f CommandField) IsResponse() bool { return f&0x8000 != 0 }

func (f CommandField) String() string {
	switch f {
	case CStoreRQ:
		return "C-STORE-RQ"
	case CStoreRSP:
		return "C-STORE-RSP"
	case CGetRQ:
		return "C-GET-RQ"
	case CFindRQ:
		return "C-FIND-RQ"
	case CMoveRQ:
		return "C-MOVE-RQ"
	case CEchoRQ:
		return "C-ECHO-RQ"
	case CEchoRSP:
		return "C-ECHO-RSP"
	case CCancelRQ:
		return "C-CANCEL-RQ"
	}
	return fmt.Sprintf("command 0x%04x", uint16(f))
}

// Status is a DIMSE status code (PS3.7 Annex C).
type Status uint16

// Status codes the Server sends.
const (
	StatusSuccess               Status = 0x0000
	StatusSOPClassNotSupported  Status = 0x0122
	StatusUnrecognizedOperation Status = 0x0211
	StatusOutOfResources        Status = 0xA700 // C-STORE: refused, out of resources
	StatusCannotUnderstand      Status = 0xC000 // C-STORE: error, cannot understand
)

// IsWarning reports whether s is a warning status (the operation was done
// with a caveat): 0x0001, 0x0107, 0x0116 or 0xB000-0xBFFF.
func (s Status) IsWarning() bool {
	return s == 0x0001 || s == 0x0107 || s == 0x0116 || s&0xF000 == 0xB000
}

func (s Status) String() string {
	name := ""
	switch {
	case s == StatusSuccess:
		name = "success"
	case s == StatusSOPClassNotSupported:
		name = "SOP class not supported"
	case s == StatusUnrecognizedOperation:
		name = "unrecognized operation"
	case s&0xFF00 == 0xA700:
		name = "out of resources"
	case s&0xF000 == 0xC000:
		name = "cannot understand"
	case s.IsWarning():
		name = "warning"
	}
	if name == "" {
		return fmt.Sprintf("0x%04X", uint16(s))
	}
	return fmt.Sprintf("0x%04X (%s)", uint16(s), name)
}

// noDataSet is the Command Data Set Type (0000,0800) meaning "no data set".
const noDataSet = 0x0101

// Command is a DIMSE command set (group 0000), the subset of elements the
// C-ECHO and C-STORE services use. Elements that are not listed here are
// skipped on decode.
type Command struct {
	Field                     CommandField // (0000,0100)
	AffectedSOPClassUID       string       // (0000,0002)
	MessageID                 uint16       // (0000,0110), requests
	MessageIDBeingRespondedTo uint16       // (0000,0120), responses
	Priority                  uint16       // (0000,0700), C-STORE-RQ: 0 medium, 1 high, 2 low
	HasDataSet                bool         // (0000,0800) != 0x0101
	Status                    Status       // (0000,0900), responses
	ErrorComment              string       // (0000,0902)
	AffectedSOPInstanceUID    string       // (0000,1000)
	MoveOriginatorAETitle     string       // (0000,1030)
	MoveOriginatorMessageID   uint16       // (0000,1031)
}

// Element tags of group 0000 (element numbers).
const (
	tagGroupLength         = 0x0000
	tagAffectedSOPClass    = 0x0002
	tagCommandField        = 0x0100
	tagMessageID           = 0x0110
	tagRespondedTo         = 0x0120
	tagPriority            = 0x0700
	tagDataSetType         = 0x0800
	tagStatus              = 0x0900
	tagErrorComment        = 0x0902
	tagAffectedSOPInst     = 0x1000
	tagMoveOriginatorAE    = 0x1030
	tagMoveOriginatorMsgID = 0x1031
)

// Encode returns the command set in Implicit VR Little Endian, starting
// with Command Group Length. Requests carry Message ID (and Priority for
// C-STORE, C-FIND, C-GET, C-MOVE); responses carry Message ID Being
// Responded To and Status.
func (c *Command) Encode() ([]byte, error) {
	b := make([]byte, 12, 160)
	var err error
	str := func(tag uint16, s string, pad byte) {
		if err != nil || s == "" {
			return
		}
		if len(s) > 0xFFFE {
			err = encErr("command element (0000,%04X) of %d bytes is too long", tag, len(s))
			return
		}
		n := len(s) + len(s)%2
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, tag)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = append(b, s...)
		if len(s)%2 == 1 {
			b = append(b, pad)
		}
	}
	us := func(tag, v uint16) {
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, tag)
		b = binary.LittleEndian.AppendUint32(b, 2)
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	// Ascending tag order.
	str(tagAffectedSOPClass, c.AffectedSOPClassUID, 0)
	us(tagCommandField, uint16(c.Field))
	if c.Field.IsResponse() {
		us(tagRespondedTo, c.MessageIDBeingRespondedTo)
	} else {
		us(tagMessageID, c.MessageID)
		switch c.Field {
		case CStoreRQ, CFindRQ, CGetRQ, CMoveRQ:
			us(tagPriority, c.Priority)
		}
	}
	dst := uint16(noDataSet)
	if c.HasDataSet {
		dst = 0x0001
	}
	us(tagDataSetType, dst)
	if c.Field.IsResponse() {
		us(tagStatus, uint16(c.Status))
	}
	str(tagErrorComment, c.ErrorComment, ' ')
	str(tagAffectedSOPInst, c.AffectedSOPInstanceUID, 0)
	str(tagMoveOriginatorAE, c.MoveOriginatorAETitle, ' ')
	if c.MoveOriginatorAETitle != "" {
		us(tagMoveOriginatorMsgID, c.MoveOriginatorMessageID)
	}
	if err != nil {
		return nil, err
	}
	// (0000,0000) UL group length: bytes after this element.
	binary.LittleEndian.PutUint16(b[0:], 0)
	binary.LittleEndian.PutUint16(b[2:], tagGroupLength)
	binary.LittleEndian.PutUint32(b[4:], 4)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(b)-12))
	return b, nil
}

// MaxCommandLength bounds the size of a command set the Server reassembles.
const MaxCommandLength = 64 << 10

// DecodeCommand decodes a command set in Implicit VR Little Endian. Every
// element must be in group 0000 and fit the buffer; US and UL elements
// must have lengths 2 and 4; Command Field and Command Data Set Type are
// required; a Command Group Length, if present, must match the bytes that
// follow it.
func DecodeCommand(b []byte) (*Command, error) {
	c := &Command{}
	var haveField, haveDST bool
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return nil, cmdErr("%d stray bytes at offset %d where an element header (8 bytes) was expected", len(b)-off, off)
		}
		group := binary.LittleEndian.Uint16(b[off:])
		elem := binary.LittleEndian.Uint16(b[off+2:])
		n := binary.LittleEndian.Uint32(b[off+4:])
		if group != 0 {
			return nil, cmdErr("element (%04X,%04X) at offset %d is not in command group 0000", group, elem, off)
		}
		if uint64(n) > uint64(len(b)-off-8) {
			return nil, cmdErr("element (0000,%04X) at offset %d claims %d bytes but only %d remain", elem, off, n, len(b)-off-8)
		}
		v := b[off+8 : off+8+int(n)]
		needLen := func(want int) error {
			if len(v) != want {
				return cmdErr("element (0000,%04X) has length %d, must be %d", elem, len(v), want)
			}
			return nil
		}
		u16 := func() (uint16, error) {
			if err := needLen(2); err != nil {
				return 0, err
			}
			return binary.LittleEndian.Uint16(v), nil
		}
		var err error
		var x uint16
		switch elem {
		case tagGroupLength:
			if err = needLen(4); err == nil && off != 0 {
				err = cmdErr("command group length (0000,0000) is not the first element")
			}
			if err == nil {
				if gl := binary.LittleEndian.Uint32(v); uint64(gl) != uint64(len(b)-12) {
					err = cmdErr("command group length says %d bytes but %d follow", gl, len(b)-12)
				}
			}
		case tagAffectedSOPClass:
			c.AffectedSOPClassUID = uidString(v)
		case tagCommandField:
			x, err = u16()
			c.Field, haveField = CommandField(x), true
		case tagMessageID:
			c.MessageID, err = u16()
		case tagRespondedTo:
			c.MessageIDBeingRespondedTo, err = u16()
		case tagPriority:
			c.Priority, err = u16()
		case tagDataSetType:
			x, err = u16()
			c.HasDataSet, haveDST = x != noDataSet, true
		case tagStatus:
			x, err = u16()
			c.Status = Status(x)
		case tagErrorComment:
			c.ErrorComment = strings.TrimRight(string(v), "\x00 ")
		case tagAffectedSOPInst:
			c.AffectedSOPInstanceUID = uidString(v)
		case tagMoveOriginatorAE:
			c.MoveOriginatorAETitle = aeString(v)
		case tagMoveOriginatorMsgID:
			c.MoveOriginatorMessageID, err = u16()
		}
		if err != nil {
			return nil, err
		}
		off += 8 + int(n)
	}
	if !haveField {
		return nil, cmdErr("no Command Field (0000,0100)")
	}
	if !haveDST {
		return nil, cmdErr("no Command Data Set Type (0000,0800)")
	}
	return c, nil
}
