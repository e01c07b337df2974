package dimse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// ClientConfig configures an SCU association.
type ClientConfig struct {
	// CallingAE is our AE title; "" means "LSMS".
	CallingAE string
	// CalledAE is the peer's AE title (required).
	CalledAE string
	// MaxPDU is the P-DATA-TF PDU-length we accept, announced in the
	// request; 0 means DefaultMaxPDU. Larger PDUs abort the association.
	MaxPDU uint32
	// SOPClasses are the storage SOP classes to propose (Verification is
	// always proposed); nil means DefaultSOPClasses plus SegmentationStorage.
	SOPClasses []string
	// TransferSyntaxes are proposed one per presentation context for every
	// SOP class, so the peer can accept each on its own; nil means
	// Explicit VR Little Endian and Implicit VR Little Endian.
	TransferSyntaxes []string
	// Logger receives association events; nil discards them.
	Logger *slog.Logger
}

// Client is an SCU association: C-ECHO and C-STORE, one operation at a
// time (methods are safe for concurrent use but serialize).
type Client struct {
	conn    net.Conn
	log     *slog.Logger
	maxPDU  uint32
	pr      pduReader
	mw      messageWriter
	results []AcceptedContext
	byID    [256]*acceptedPC

	mu     sync.Mutex
	msgID  uint16
	broken error // set once the association is unusable
	pdvs   []PDV
}

// Dial connects to addr ("host:port") and negotiates an association. ctx
// bounds the connection and the negotiation.
func Dial(ctx context.Context, addr string, cfg ClientConfig) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dimse: dial %s: %w", addr, err)
	}
	c, err := NewClient(ctx, conn, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// NewClient negotiates an association over an established connection.
// On error the caller still owns conn.
func NewClient(ctx context.Context, conn net.Conn, cfg ClientConfig) (*Client, error) {
	calling := cfg.CallingAE
	if calling == "" {
		calling = "LSMS"
	}
	if err := checkAE("ClientConfig.CallingAE", calling); err != nil {
		return nil, err
	}
	if err := checkAE("ClientConfig.CalledAE", cfg.CalledAE); err != nil {
		return nil, err
	}
	maxPDU := cfg.MaxPDU
	if maxPDU == 0 {
		maxPDU = DefaultMaxPDU
	} else if maxPDU < MinMaxPDU || maxPDU > MaxMaxPDU {
		return nil, configErr("ClientConfig.MaxPDU %d outside %d..%d", maxPDU, MinMaxPDU, MaxMaxPDU)
	}
	sops := cfg.SOPClasses
	if sops == nil {
		sops = append(append([]string(nil), DefaultSOPClasses...), SegmentationStorage)
	}
	tss := cfg.TransferSyntaxes
	if tss == nil {
		tss = DefaultTransferSyntaxes
	}
	if len(tss) == 0 {
		return nil, configErr("ClientConfig.TransferSyntaxes is empty")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rq := &AssociateRQ{
		ProtocolVersion:    1,
		CalledAE:           strings.TrimSpace(cfg.CalledAE),
		CallingAE:          strings.TrimSpace(calling),
		ApplicationContext: ApplicationContextName,
		UserInfo: UserInfo{
			MaxPDULength:              maxPDU,
			ImplementationClassUID:    ImplementationClassUID,
			ImplementationVersionName: ImplementationVersionName,
		},
	}
	id := 1
	add := func(abstract string, ts []string) error {
		if id > 255 {
			return configErr("%d SOP classes × %d transfer syntaxes exceed %d presentation contexts", len(sops), len(tss), MaxContexts)
		}
		rq.Contexts = append(rq.Contexts, ProposedContext{ID: byte(id), AbstractSyntax: abstract, TransferSyntaxes: ts})
		id += 2
		return nil
	}
	if err := add(VerificationSOPClass, []string{ImplicitVRLittleEndian}); err != nil {
		return nil, err
	}
	for _, sop := range sops {
		if sop == "" {
			return nil, configErr("ClientConfig.SOPClasses has an empty UID")
		}
		for _, ts := range tss {
			if err := add(sop, []string{ts}); err != nil {
				return nil, err
			}
		}
	}

	c := &Client{conn: conn, log: log.With("peer", conn.RemoteAddr().String(), "called", rq.CalledAE), maxPDU: maxPDU}
	c.pr.r = conn
	done := c.watch(ctx)
	defer done()
	if err := WritePDU(conn, rq); err != nil {
		return nil, c.ioErr(ctx, "sending A-ASSOCIATE-RQ", err)
	}
	t, body, err := c.pr.next(max(maxAssociateRQ, maxPDU))
	if err != nil {
		return nil, c.ioErr(ctx, "awaiting A-ASSOCIATE-AC", err)
	}
	switch t {
	case TypeAssociateAC:
	case TypeAssociateRJ:
		rj, err := decodeRJ(body)
		if err != nil {
			return nil, err
		}
		return nil, &RejectError{*rj}
	case TypeAbort:
		ab, err := DecodePDU(t, body)
		if err != nil {
			return nil, err
		}
		return nil, &AbortError{*ab.(*Abort)}
	default:
		c.sendAbort()
		return nil, protoErr("%s in answer to A-ASSOCIATE-RQ", t)
	}
	ac, err := DecodeAssociateAC(body)
	if err != nil {
		c.sendAbort()
		return nil, err
	}
	if m := ac.UserInfo.MaxPDULength; m != 0 && m < MinPeerPDU {
		c.sendAbort()
		return nil, protoErr("peer maximum PDU length %d below %d", m, MinPeerPDU)
	}
	proposed := map[byte]string{}
	for _, pc := range rq.Contexts {
		proposed[pc.ID] = pc.AbstractSyntax
	}
	for _, r := range ac.Contexts {
		abstract, ok := proposed[r.ID]
		if !ok {
			c.sendAbort()
			return nil, protoErr("A-ASSOCIATE-AC answers presentation context %d, which was not proposed", r.ID)
		}
		if r.Result == ContextAccepted {
			c.byID[r.ID] = &acceptedPC{abstract: abstract, ts: r.TransferSyntax}
		}
	}
	c.results = ac.Contexts
	c.mw = messageWriter{w: conn, peerMax: ac.UserInfo.MaxPDULength}
	c.log.Debug("dimse: association established", "peer_max_pdu", ac.UserInfo.MaxPDULength, "peer_implementation", ac.UserInfo.ImplementationClassUID)
	return c, nil
}

// Contexts returns the peer's answer for every proposed presentation context.
func (c *Client) Contexts() []AcceptedContext { return append([]AcceptedContext(nil), c.results...) }

// watch applies ctx's deadline and cancellation to the connection until
// the returned function is called.
func (c *Client) watch(ctx context.Context) func() {
	if d, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(aLongTimeAgo) })
	return func() {
		stop()
		_ = c.conn.SetDeadline(time.Time{})
	}
}

func (c *Client) ioErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("dimse: %s: %w", what, err)
}

func (c *Client) sendAbort() {
	_ = c.conn.SetWriteDeadline(time.Now().Add(abortWriteTimeout))
	_ = WritePDU(c.conn, &Abort{Source: AbortServiceUser})
}

func (c *Client) findContext(sopClass, ts string) (byte, bool) {
	for id, pc := range c.byID {
		if pc != nil && pc.abstract == sopClass && (ts == "" || pc.ts == ts) {
			return byte(id), true
		}
	}
	return 0, false
}

// Echo sends a C-ECHO-RQ and waits for a successful C-ECHO-RSP.
func (c *Client) Echo(ctx context.Context) error {
	id, ok := c.findContext(VerificationSOPClass, "")
	if !ok {
		return fmt.Errorf("%w: the peer did not accept Verification", ErrNoContext)
	}
	_, err := c.roundTrip(ctx, "C-ECHO", id, &Command{Field: CEchoRQ, AffectedSOPClassUID: VerificationSOPClass}, nil)
	return err
}

// Store sends one C-STORE-RQ with data, a data set (no File Meta
// Information) encoded in transfer syntax ts, on a presentation context
// the peer accepted for sopClass and ts. A response status other than
// Success is a *StatusError.
func (c *Client) Store(ctx context.Context, sopClass, sopInstance, ts string, data []byte) error {
	if sopInstance == "" {
		return configErr("Store: empty SOP instance UID")
	}
	id, ok := c.findContext(sopClass, ts)
	if !ok {
		return fmt.Errorf("%w for SOP class %s in transfer syntax %s", ErrNoContext, sopClass, ts)
	}
	if data == nil {
		data = []byte{}
	}
	_, err := c.roundTrip(ctx, "C-STORE", id, &Command{
		Field:                  CStoreRQ,
		AffectedSOPClassUID:    sopClass,
		AffectedSOPInstanceUID: sopInstance,
		HasDataSet:             true,
	}, data)
	return err
}

func (c *Client) roundTrip(ctx context.Context, op string, pcID byte, rq *Command, data []byte) (*Command, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, c.broken
	}
	c.msgID++
	rq.MessageID = c.msgID
	b, err := rq.Encode()
	if err != nil {
		return nil, err
	}
	done := c.watch(ctx)
	defer done()
	if err := c.mw.write(pcID, b, data); err != nil {
		return nil, c.fail(ctx, "sending "+rq.Field.String(), err)
	}
	rsp, err := c.readResponse()
	if err != nil {
		return nil, c.fail(ctx, "awaiting "+op+" response", err)
	}
	if rsp.Field != rq.Field|0x8000 || rsp.MessageIDBeingRespondedTo != rq.MessageID {
		c.sendAbort()
		return nil, c.fail(ctx, op, protoErr("got %s for message %d, want %s for %d", rsp.Field, rsp.MessageIDBeingRespondedTo, rq.Field|0x8000, rq.MessageID))
	}
	if rsp.Status != StatusSuccess {
		return rsp, &StatusError{Op: op, Status: rsp.Status, Comment: rsp.ErrorComment}
	}
	return rsp, nil
}

// fail marks the association unusable and wraps err.
func (c *Client) fail(ctx context.Context, what string, err error) error {
	err = c.ioErr(ctx, what, err)
	c.broken = fmt.Errorf("%w (after: %v)", ErrClosed, err)
	c.conn.Close()
	return err
}

// readResponse reads P-DATA-TF PDUs until one complete message; a data
// set following a response is read and discarded.
func (c *Client) readResponse() (*Command, error) {
	var cmdBuf []byte
	var cmd *Command
	for {
		t, body, err := c.pr.next(c.maxPDU)
		if err != nil {
			var tl *TooLargeError
			if errors.As(err, &tl) {
				c.sendAbort()
			}
			return nil, err
		}
		switch t {
		case TypePDataTF:
		case TypeAbort:
			ab, err := DecodePDU(t, body)
			if err != nil {
				return nil, err
			}
			return nil, &AbortError{*ab.(*Abort)}
		default:
			c.sendAbort()
			return nil, protoErr("%s while awaiting a response", t)
		}
		if c.pdvs, err = appendPDVs(c.pdvs[:0], body); err != nil {
			c.sendAbort()
			return nil, err
		}
		for _, pdv := range c.pdvs {
			if c.byID[pdv.ContextID] == nil {
				c.sendAbort()
				return nil, protoErr("PDV on presentation context %d, which was not accepted", pdv.ContextID)
			}
			switch {
			case cmd == nil && pdv.Command:
				if len(cmdBuf)+len(pdv.Data) > MaxCommandLength {
					c.sendAbort()
					return nil, cmdErr("response command set exceeds %d bytes", MaxCommandLength)
				}
				cmdBuf = append(cmdBuf, pdv.Data...)
				if pdv.Last {
					if cmd, err = DecodeCommand(cmdBuf); err != nil {
						c.sendAbort()
						return nil, err
					}
					if !cmd.HasDataSet {
						return cmd, nil
					}
				}
			case cmd != nil && !pdv.Command:
				if pdv.Last {
					return cmd, nil
				}
			default:
				c.sendAbort()
				return nil, protoErr("unexpected %s fragment in a response", map[bool]string{true: "command", false: "data set"}[pdv.Command])
			}
		}
	}
}

// Release ends the association with A-RELEASE-RQ/RP and closes the
// connection.
func (c *Client) Release(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	c.broken = fmt.Errorf("%w: released", ErrClosed)
	defer c.conn.Close()
	done := c.watch(ctx)
	defer done()
	if err := WritePDU(c.conn, &ReleaseRQ{}); err != nil {
		return c.ioErr(ctx, "sending A-RELEASE-RQ", err)
	}
	for {
		t, body, err := c.pr.next(c.maxPDU)
		if err != nil {
			return c.ioErr(ctx, "awaiting A-RELEASE-RP", err)
		}
		switch t {
		case TypeReleaseRP:
			return nil
		case TypeAbort:
			ab, err := DecodePDU(t, body)
			if err != nil {
				return err
			}
			return &AbortError{*ab.(*Abort)}
		case TypePDataTF:
			// A late response; ignore it.
		default:
			return protoErr("%s while awaiting A-RELEASE-RP", t)
		}
	}
}

// Abort sends A-ABORT and closes the connection.
func (c *Client) Abort() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	c.broken = fmt.Errorf("%w: aborted", ErrClosed)
	c.sendAbort()
	return c.conn.Close()
}

// Close releases the association (bounded by a few seconds) if it is
// still up, and closes the connection.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Release(ctx)
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}
