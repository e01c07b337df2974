package dimse

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Item types of A-ASSOCIATE-RQ/AC variable fields (PS3.8 9.3.2, 9.3.3, Annex D).
const (
	itemApplicationContext = 0x10
	itemPresentationRQ     = 0x20
	itemPresentationAC     = 0x21
	itemAbstractSyntax     = 0x30
	itemTransferSyntax     = 0x40
	itemUserInformation    = 0x50
	subMaxLength           = 0x51
	subImplementationUID   = 0x52
	subImplementationName  = 0x55
)

// associateFixed is the size of the fixed part of A-ASSOCIATE-RQ/AC bodies:
// protocol version, reserved, called AE, calling AE, 32 reserved bytes.
const associateFixed = 2 + 2 + 16 + 16 + 32

// MaxContexts is the largest number of presentation contexts one
// association can carry (odd IDs 1..255).
const MaxContexts = 128

// ProposedContext is a Presentation Context item of an A-ASSOCIATE-RQ.
type ProposedContext struct {
	ID               byte // odd, 1..255
	AbstractSyntax   string
	TransferSyntaxes []string
}

// ContextResult is the acceptor's answer for one presentation context.
type ContextResult byte

// Presentation context results (PS3.8 Table 9-18).
const (
	ContextAccepted                     ContextResult = 0
	ContextUserRejection                ContextResult = 1
	ContextNoReason                     ContextResult = 2
	ContextAbstractSyntaxNotSupported   ContextResult = 3
	ContextTransferSyntaxesNotSupported ContextResult = 4
)

func (r ContextResult) String() string {
	switch r {
	case ContextAccepted:
		return "accepted"
	case ContextUserRejection:
		return "user rejection"
	case ContextNoReason:
		return "no reason (provider rejection)"
	case ContextAbstractSyntaxNotSupported:
		return "abstract syntax not supported"
	case ContextTransferSyntaxesNotSupported:
		return "transfer syntaxes not supported"
	}
	return fmt.Sprintf("result %d", byte(r))
}

// AcceptedContext is a Presentation Context item of an A-ASSOCIATE-AC.
// TransferSyntax is significant only when Result is ContextAccepted.
type AcceptedContext struct {
	ID             byte
	Result         ContextResult
	TransferSyntax string
}

// SubItem is a user information sub-item this package does not interpret
// (asynchronous operations window, role selection, extended negotiation,
// user identity...). Data excludes the 4-byte sub-item header.
type SubItem struct {
	Type byte
	Data []byte
}

// UserInfo is the User Information item (PS3.8 D.1, PS3.7 D.3.3).
type UserInfo struct {
	// MaxPDULength is the largest P-DATA-TF PDU-length the sender of the
	// item can receive; 0 means no limit.
	MaxPDULength              uint32
	ImplementationClassUID    string
	ImplementationVersionName string
	Other                     []SubItem
}

// AssociateRQ is the A-ASSOCIATE-RQ PDU.
type AssociateRQ struct {
	ProtocolVersion    uint16 // bit 0 set for version 1
	CalledAE           string // spaces trimmed
	CallingAE          string
	ApplicationContext string
	Contexts           []ProposedContext
	UserInfo           UserInfo
}

// AssociateAC is the A-ASSOCIATE-AC PDU.
type AssociateAC struct {
	ProtocolVersion    uint16
	CalledAE           string // echoed from the request, not significant
	CallingAE          string
	ApplicationContext string
	Contexts           []AcceptedContext
	UserInfo           UserInfo
}

// Type implements PDU.
func (*AssociateRQ) Type() PDUType { return TypeAssociateRQ }

// Type implements PDU.
func (*AssociateAC) Type() PDUType { return TypeAssociateAC }

func (p *AssociateRQ) appendBody(b []byte) ([]byte, error) {
	b, err := appendFixed(b, p.ProtocolVersion, p.CalledAE, p.CallingAE)
	if err != nil {
		return nil, err
	}
	if b, err = appendItem(b, itemApplicationContext, []byte(p.ApplicationContext)); err != nil {
		return nil, err
	}
	if len(p.Contexts) > MaxContexts {
		return nil, encErr("%d presentation contexts, at most %d fit an association", len(p.Contexts), MaxContexts)
	}
	for _, pc := range p.Contexts {
		start, b2 := beginItem(b, itemPresentationRQ)
		b2 = append(b2, pc.ID, 0, 0, 0)
		if b2, err = appendItem(b2, itemAbstractSyntax, []byte(pc.AbstractSyntax)); err != nil {
			return nil, err
		}
		for _, ts := range pc.TransferSyntaxes {
			if b2, err = appendItem(b2, itemTransferSyntax, []byte(ts)); err != nil {
				return nil, err
			}
		}
		if b, err = endItem(b2, start); err != nil {
			return nil, fmt.Errorf("presentation context %d: %w", pc.ID, err)
		}
	}
	return p.UserInfo.append(b)
}

func (p *AssociateAC) appendBody(b []byte) ([]byte, error) {
	b, err := appendFixed(b, p.ProtocolVersion, p.CalledAE, p.CallingAE)
	if err != nil {
		return nil, err
	}
	if b, err = appendItem(b, itemApplicationContext, []byte(p.ApplicationContext)); err != nil {
		return nil, err
	}
	if len(p.Contexts) > MaxContexts {
		return nil, encErr("%d presentation contexts, at most %d fit an association", len(p.Contexts), MaxContexts)
	}
	for _, pc := range p.Contexts {
		start, b2 := beginItem(b, itemPresentationAC)
		b2 = append(b2, pc.ID, 0, byte(pc.Result), 0)
		if b2, err = appendItem(b2, itemTransferSyntax, []byte(pc.TransferSyntax)); err != nil {
			return nil, err
		}
		if b, err = endItem(b2, start); err != nil {
			return nil, err
		}
	}
	return p.UserInfo.append(b)
}

func (u *UserInfo) append(b []byte) ([]byte, error) {
	start, b := beginItem(b, itemUserInformation)
	b = append(b, subMaxLength, 0, 0, 4)
	b = binary.BigEndian.AppendUint32(b, u.MaxPDULength)
	var err error
	if u.ImplementationClassUID != "" {
		if b, err = appendItem(b, subImplementationUID, []byte(u.ImplementationClassUID)); err != nil {
			return nil, err
		}
	}
	// PS3.7 D.3.3 order: max length, implementation class UID, asynchronous
	// operations window (0x53), role selection (0x54), implementation version
	// name (0x55), then the rest.
	for _, it := range u.Other {
		if it.Type < subImplementationName {
			if b, err = appendItem(b, it.Type, it.Data); err != nil {
				return nil, err
			}
		}
	}
	if u.ImplementationVersionName != "" {
		if b, err = appendItem(b, subImplementationName, []byte(u.ImplementationVersionName)); err != nil {
			return nil, err
		}
	}
	for _, it := range u.Other {
		if it.Type >= subImplementationName {
			if b, err = appendItem(b, it.Type, it.Data); err != nil {
				return nil, err
			}
		}
	}
	return endItem(b, start)
}

func appendFixed(b []byte, version uint16, called, calling string) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, version)
	b = append(b, 0, 0)
	for _, ae := range []string{called, calling} {
		if len(ae) > 16 {
			return nil, encErr("AE title %q is %d bytes, at most 16", ae, len(ae))
		}
		b = append(b, ae...)
		for range 16 - len(ae) {
			b = append(b, ' ')
		}
	}
	return append(b, make([]byte, 32)...), nil
}

func appendItem(b []byte, typ byte, val []byte) ([]byte, error) {
	if len(val) > 0xFFFF {
		return nil, encErr("item 0x%02x value of %d bytes exceeds 65535", typ, len(val))
	}
	b = append(b, typ, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(val)))
	return append(b, val...), nil
}

// beginItem appends an item header with a placeholder length; endItem
// fills it in.
func beginItem(b []byte, typ byte) (int, []byte) {
	return len(b), append(b, typ, 0, 0, 0)
}

func endItem(b []byte, start int) ([]byte, error) {
	n := len(b) - start - 4
	if n > 0xFFFF {
		return nil, encErr("item 0x%02x of %d bytes exceeds 65535", b[start], n)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	return b, nil
}

// nextItem splits the first item (type, reserved, 16-bit length, value)
// off b.
func nextItem(b []byte, where string) (typ byte, val, rest []byte, err error) {
	if len(b) < 4 {
		return 0, nil, nil, pduErr("%s: %d stray bytes where an item header (4 bytes) was expected", where, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n > len(b)-4 {
		return 0, nil, nil, pduErr("%s: item 0x%02x claims %d bytes but only %d remain", where, b[0], n, len(b)-4)
	}
	return b[0], b[4 : 4+n], b[4+n:], nil
}

// uidString trims the NUL/space padding some implementations add.
func uidString(b []byte) string { return strings.TrimRight(string(b), "\x00 ") }

// aeString trims the insignificant leading and trailing spaces (and NULs).
func aeString(b []byte) string { return strings.Trim(string(b), "\x00 ") }

type fixedPart struct {
	version         uint16
	called, calling string
}

func decodeFixed(body []byte, what string) (fixedPart, []byte, error) {
	if len(body) < associateFixed {
		return fixedPart{}, nil, pduErr("%s body is %d bytes, shorter than the %d-byte fixed part", what, len(body), associateFixed)
	}
	return fixedPart{
		version: binary.BigEndian.Uint16(body),
		called:  aeString(body[4:20]),
		calling: aeString(body[20:36]),
	}, body[associateFixed:], nil
}

// DecodeAssociateRQ decodes the body of an A-ASSOCIATE-RQ PDU. It requires
// one Application Context item and at least one Presentation Context item,
// each with one abstract syntax, at least one transfer syntax and a unique
// odd ID. A missing User Information item leaves UserInfo zero (no PDU
// limit). Items of unknown type are ignored, as PS3.8 9.3.1 asks.
func DecodeAssociateRQ(body []byte) (*AssociateRQ, error) {
	const what = "A-ASSOCIATE-RQ"
	f, rest, err := decodeFixed(body, what)
	if err != nil {
		return nil, err
	}
	p := &AssociateRQ{ProtocolVersion: f.version, CalledAE: f.called, CallingAE: f.calling}
	var haveApp, haveUser bool
	var seen [256]bool
	for len(rest) > 0 {
		var typ byte
		var val []byte
		if typ, val, rest, err = nextItem(rest, what); err != nil {
			return nil, err
		}
		switch typ {
		case itemApplicationContext:
			if haveApp {
				return nil, pduErr("%s: more than one application context item", what)
			}
			haveApp = true
			p.ApplicationContext = uidString(val)
		case itemPresentationRQ:
			pc, err := decodeProposed(val)
			if err != nil {
				return nil, err
			}
			if seen[pc.ID] {
				return nil, pduErr("%s: presentation context ID %d proposed twice", what, pc.ID)
			}
			seen[pc.ID] = true
			p.Contexts = append(p.Contexts, pc)
		case itemPresentationAC:
			return nil, pduErr("%s: carries an A-ASSOCIATE-AC presentation context item (0x21)", what)
		case itemUserInformation:
			if haveUser {
				return nil, pduErr("%s: more than one user information item", what)
			}
			haveUser = true
			if p.UserInfo, err = decodeUserInfo(val); err != nil {
				return nil, err
			}
		}
	}
	if !haveApp || p.ApplicationContext == "" {
		return nil, pduErr("%s: no application context name", what)
	}
	if len(p.Contexts) == 0 {
		return nil, pduErr("%s: no presentation context proposed", what)
	}
	return p, nil
}

func decodeProposed(val []byte) (ProposedContext, error) {
	if len(val) < 4 {
		return ProposedContext{}, pduErr("presentation context item is %d bytes, at least 4 needed", len(val))
	}
	pc := ProposedContext{ID: val[0]}
	where := fmt.Sprintf("presentation context %d", pc.ID)
	if pc.ID%2 == 0 {
		return pc, pduErr("%s: ID must be odd", where)
	}
	rest := val[4:]
	haveAbstract := false
	for len(rest) > 0 {
		typ, v, r, err := nextItem(rest, where)
		if err != nil {
			return pc, err
		}
		rest = r
		switch typ {
		case itemAbstractSyntax:
			if haveAbstract {
				return pc, pduErr("%s: more than one abstract syntax", where)
			}
			haveAbstract = true
			if pc.AbstractSyntax = uidString(v); pc.AbstractSyntax == "" {
				return pc, pduErr("%s: empty abstract syntax name", where)
			}
		case itemTransferSyntax:
			ts := uidString(v)
			if ts == "" {
				return pc, pduErr("%s: empty transfer syntax name", where)
			}
			pc.TransferSyntaxes = append(pc.TransferSyntaxes, ts)
		default:
			return pc, pduErr("%s: unexpected sub-item 0x%02x", where, typ)
		}
	}
	if !haveAbstract {
		return pc, pduErr("%s: no abstract syntax", where)
	}
	if len(pc.TransferSyntaxes) == 0 {
		return pc, pduErr("%s: no transfer syntax", where)
	}
	return pc, nil
}

func decodeUserInfo(val []byte) (UserInfo, error) {
	var u UserInfo
	var haveMax, haveUID, haveName bool
	for rest := val; len(rest) > 0; {
		typ, v, r, err := nextItem(rest, "user information")
		if err != nil {
			return u, err
		}
		rest = r
		switch typ {
		case subMaxLength:
			if haveMax {
				return u, pduErr("user information: more than one maximum length sub-item")
			}
			if len(v) != 4 {
				return u, pduErr("user information: maximum length sub-item is %d bytes, must be 4", len(v))
			}
			haveMax = true
			u.MaxPDULength = binary.BigEndian.Uint32(v)
		case subImplementationUID:
			if haveUID {
				return u, pduErr("user information: more than one implementation class UID")
			}
			haveUID = true
			u.ImplementationClassUID = uidString(v)
		case subImplementationName:
			if haveName {
				return u, pduErr("user information: more than one implementation version name")
			}
			haveName = true
			u.ImplementationVersionName = strings.TrimRight(string(v), "\x00 ")
		default:
			u.Other = append(u.Other, SubItem{Type: typ, Data: append([]byte(nil), v...)})
		}
	}
	return u, nil
}

// DecodeAssociateAC decodes the body of an A-ASSOCIATE-AC PDU.
func DecodeAssociateAC(body []byte) (*AssociateAC, error) {
	const what = "A-ASSOCIATE-AC"
	f, rest, err := decodeFixed(body, what)
	if err != nil {
		return nil, err
	}
	p := &AssociateAC{ProtocolVersion: f.version, CalledAE: f.called, CallingAE: f.calling}
	var haveApp, haveUser bool
	var seen [256]bool
	for len(rest) > 0 {
		var typ byte
		var val []byte
		if typ, val, rest, err = nextItem(rest, what); err != nil {
			return nil, err
		}
		switch typ {
		case itemApplicationContext:
			if haveApp {
				return nil, pduErr("%s: more than one application context item", what)
			}
			haveApp = true
			p.ApplicationContext = uidString(val)
		case itemPresentationAC:
			if len(val) < 4 {
				return nil, pduErr("%s: presentation context item is %d bytes, at least 4 needed", what, len(val))
			}
			pc := AcceptedContext{ID: val[0], Result: ContextResult(val[2])}
			if seen[pc.ID] {
				return nil, pduErr("%s: presentation context ID %d answered twice", what, pc.ID)
			}
			seen[pc.ID] = true
			where := fmt.Sprintf("%s presentation context %d", what, pc.ID)
			haveTS := false
			for sub := val[4:]; len(sub) > 0; {
				typ, v, r, err := nextItem(sub, where)
				if err != nil {
					return nil, err
				}
				sub = r
				if typ != itemTransferSyntax {
					return nil, pduErr("%s: unexpected sub-item 0x%02x", where, typ)
				}
				if haveTS {
					return nil, pduErr("%s: more than one transfer syntax", where)
				}
				haveTS = true
				pc.TransferSyntax = uidString(v)
			}
			if pc.Result == ContextAccepted && pc.TransferSyntax == "" {
				return nil, pduErr("%s: accepted without a transfer syntax", where)
			}
			p.Contexts = append(p.Contexts, pc)
		case itemPresentationRQ:
			return nil, pduErr("%s: carries an A-ASSOCIATE-RQ presentation context item (0x20)", what)
		case itemUserInformation:
			if haveUser {
				return nil, pduErr("%s: more than one user information item", what)
			}
			haveUser = true
			if p.UserInfo, err = decodeUserInfo(val); err != nil {
				return nil, err
			}
		}
	}
	if !haveApp || p.ApplicationContext == "" {
		return nil, pduErr("%s: no application context name", what)
	}
	return p, nil
}
