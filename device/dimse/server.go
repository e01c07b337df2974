package dimse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Defaults and limits of Server fields.
const (
	DefaultMaxPDU          = 128 << 10 // bytes, the P-DATA-TF PDU-length we accept
	MinMaxPDU              = 1 << 10
	MaxMaxPDU              = 64 << 20
	DefaultMaxAssociations = 16
	DefaultIdleTimeout     = 60 * time.Second
	DefaultMaxObjectSize   = 256 << 20 // bytes of one reassembled data set
	// MinPeerPDU is the smallest non-zero maximum length a peer may announce.
	MinPeerPDU = 64
	// maxAssociateRQ bounds an A-ASSOCIATE-RQ (128 contexts and a user
	// identity fit easily).
	maxAssociateRQ = 1 << 20
	// abortWriteTimeout bounds the final A-ABORT / A-ASSOCIATE-RJ write.
	abortWriteTimeout = 2 * time.Second
)

// StoreRequest is one received C-STORE.
type StoreRequest struct {
	CallingAE         string
	CalledAE          string
	SOPClassUID       string // Affected SOP Class UID
	SOPInstanceUID    string // Affected SOP Instance UID
	TransferSyntaxUID string // of the presentation context, the encoding of Data
	MessageID         uint16
	Priority          uint16 // 0 medium, 1 high, 2 low
	// Data is the data set (no File Meta Information) encoded in
	// TransferSyntaxUID. It is only valid until the Handler returns: the
	// Server reuses the buffer for the next message. Copy to keep it.
	Data []byte
}

// Server is a DICOM Storage SCP (and Verification SCP). The zero value is
// not usable: AETitle and Handler are required. A Server must not be
// copied after first use; one Server may Serve several listeners, which
// then share MaxAssociations.
type Server struct {
	// AETitle is the called AE title the Server answers to (1-16 bytes,
	// compared exactly after trimming spaces). Requests for another title
	// are rejected (permanent, service user, called AE title not recognized).
	AETitle string
	// Allow lists the calling AE titles that may associate; empty allows
	// any. Others are rejected (calling AE title not recognized).
	Allow []string
	// MaxPDU is the largest P-DATA-TF PDU-length accepted, announced in
	// A-ASSOCIATE-AC; a larger PDU aborts the association (A-ABORT,
	// invalid PDU parameter value). 0 means DefaultMaxPDU.
	MaxPDU uint32
	// MaxAssociations bounds concurrent associations; more are rejected
	// (transient, local limit exceeded). 0 means DefaultMaxAssociations.
	MaxAssociations int
	// IdleTimeout aborts an association whose peer sends nothing for this
	// long (also the ARTIM timeout for the A-ASSOCIATE-RQ). Time spent in
	// Handler does not count. 0 means DefaultIdleTimeout; negative, never.
	IdleTimeout time.Duration
	// Handler is called for every C-STORE-RQ, one at a time per
	// association; its Status is sent back (StatusSuccess, or
	// StatusOutOfResources to make the sender retry later). Blocking in
	// Handler blocks the sender (backpressure). ctx is the Serve context:
	// return promptly once it is done. A panic is recovered and answered
	// with StatusCannotUnderstand.
	Handler func(ctx context.Context, req *StoreRequest) Status
	// Logger receives association events; nil discards them.
	Logger *slog.Logger
	// SOPClasses are the storage abstract syntaxes accepted besides
	// Verification; nil means DefaultSOPClasses.
	SOPClasses []string
	// MaxObjectSize bounds one reassembled data set; a larger one is
	// discarded and answered with StatusOutOfResources. 0 means
	// DefaultMaxObjectSize.
	MaxObjectSize int64
	// Clock measures IdleTimeout; nil means the real clock.
	Clock clockwork.Clock

	mu        sync.Mutex
	active    int
	rejecting int
}

type serverConfig struct {
	ae         string
	allow      []string
	maxPDU     uint32
	maxAssoc   int
	idle       time.Duration
	handler    func(context.Context, *StoreRequest) Status
	log        *slog.Logger
	sopClasses map[string]bool
	ts         map[string]bool
	maxObject  int64
	clock      clockwork.Clock
}

func checkAE(field, ae string) error {
	t := strings.TrimSpace(ae)
	if t == "" || len(t) > 16 {
		return configErr("%s %q must be 1-16 characters", field, ae)
	}
	for _, r := range t {
		if r < 0x20 || r > 0x7E || r == '\\' {
			return configErr("%s %q contains %q; AE titles are printable ASCII without backslash", field, ae, r)
		}
	}
	return nil
}

func (s *Server) config() (*serverConfig, error) {
	c := &serverConfig{
		ae:        strings.TrimSpace(s.AETitle),
		maxPDU:    s.MaxPDU,
		maxAssoc:  s.MaxAssociations,
		idle:      s.IdleTimeout,
		handler:   s.Handler,
		log:       s.Logger,
		maxObject: s.MaxObjectSize,
		clock:     s.Clock,
	}
	if err := checkAE("Server.AETitle", s.AETitle); err != nil {
		return nil, err
	}
	for _, a := range s.Allow {
		if err := checkAE("Server.Allow entry", a); err != nil {
			return nil, err
		}
		c.allow = append(c.allow, strings.TrimSpace(a))
	}
	if c.handler == nil {
		return nil, configErr("Server.Handler is nil")
	}
	switch {
	case c.maxPDU == 0:
		c.maxPDU = DefaultMaxPDU
	case c.maxPDU < MinMaxPDU || c.maxPDU > MaxMaxPDU:
		return nil, configErr("Server.MaxPDU %d outside %d..%d", c.maxPDU, MinMaxPDU, MaxMaxPDU)
	}
	switch {
	case c.maxAssoc == 0:
		c.maxAssoc = DefaultMaxAssociations
	case c.maxAssoc < 0:
		return nil, configErr("Server.MaxAssociations %d is negative", c.maxAssoc)
	}
	if c.idle == 0 {
		c.idle = DefaultIdleTimeout
	}
	switch {
	case c.maxObject == 0:
		c.maxObject = DefaultMaxObjectSize
	case c.maxObject < 0:
		return nil, configErr("Server.MaxObjectSize %d is negative", c.maxObject)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = clockwork.NewRealClock()
	}
	sops := s.SOPClasses
	if sops == nil {
		sops = DefaultSOPClasses
	}
	c.sopClasses = map[string]bool{VerificationSOPClass: true}
	for _, uid := range sops {
		if uid == "" || len(uid) > 64 {
			return nil, configErr("Server.SOPClasses entry %q is not a UID", uid)
		}
		c.sopClasses[uid] = true
	}
	c.ts = map[string]bool{}
	for _, uid := range DefaultTransferSyntaxes {
		c.ts[uid] = true
	}
	return c, nil
}

// Serve accepts associations on ln until ctx is done or Accept fails, then
// closes ln, waits for its associations to end and returns. On ctx
// cancellation, associations finish the message in progress (its Handler
// call and response), then are aborted at the next PDU boundary, and
// Serve returns nil. A configuration error is returned before accepting.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	cfg, err := s.config()
	if err != nil {
		ln.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	cfg.log.Info("dimse: listening", "addr", ln.Addr().String(), "ae", cfg.ae, "max_pdu", cfg.maxPDU, "max_associations", cfg.maxAssoc)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				cfg.log.Info("dimse: shutting down", "addr", ln.Addr().String())
				return nil
			}
			cancel()
			ln.Close()
			return fmt.Errorf("dimse: accept on %s: %w", ln.Addr(), err)
		}
		admitted, ok := s.admit(cfg.maxAssoc)
		if !ok {
			cfg.log.Warn("dimse: connection dropped, too many pending rejections", "remote", conn.RemoteAddr().String())
			conn.Close()
			continue
		}
		wg.Go(func() { s.serveConn(ctx, cfg, conn, admitted) })
	}
}

func (s *Server) admit(limit int) (admitted, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active < limit {
		s.active++
		return true, true
	}
	if s.rejecting < limit {
		s.rejecting++
		return false, true
	}
	return false, false
}

func (s *Server) leave(admitted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if admitted {
		s.active--
	} else {
		s.rejecting--
	}
}

// acceptedPC is an accepted presentation context.
type acceptedPC struct {
	abstract, ts string
}

type msgState int

const (
	msgIdle    msgState = iota // waiting for a command fragment
	msgCommand                 // command set incomplete
	msgData                    // command complete, data set incomplete
)

// association is the server side of one connection.
type association struct {
	cfg      *serverConfig
	conn     net.Conn
	log      *slog.Logger
	wd       *watchdog
	pr       pduReader
	mw       messageWriter
	pdvs     []PDV
	contexts [256]*acceptedPC
	calling  string
	called   string

	state   msgState
	pcID    byte
	cmdBuf  []byte
	cmd     *Command
	data    []byte
	discard int64 // bytes dropped once the data set exceeded maxObject
}

func (s *Server) serveConn(ctx context.Context, cfg *serverConfig, conn net.Conn, admitted bool) {
	defer conn.Close()
	defer s.leave(admitted) // before Close: once the peer sees EOF, the slot is free
	a := &association{
		cfg:  cfg,
		conn: conn,
		log:  cfg.log.With("remote", conn.RemoteAddr().String()),
		wd:   newWatchdog(conn, cfg.clock, cfg.idle),
	}
	a.pr.r = conn
	stop := context.AfterFunc(ctx, a.wd.shutdown)
	defer stop()
	if !a.establish(admitted) {
		return
	}
	a.dataPhase(ctx)
}

func (a *association) read(limit uint32) (PDUType, []byte, error) {
	if err := a.wd.arm(true); err != nil {
		return 0, nil, err
	}
	defer a.wd.disarm()
	return a.pr.next(limit)
}

func (a *association) write(p PDU) error {
	b, err := Encode(p)
	if err != nil {
		return err
	}
	if err := a.wd.arm(false); err != nil {
		return err
	}
	defer a.wd.disarm()
	_, err = a.conn.Write(b)
	return err
}

// final writes a last PDU (A-ABORT, A-ASSOCIATE-RJ) with a short deadline,
// whatever state the watchdog left the connection in.
func (a *association) final(p PDU) {
	_ = a.conn.SetDeadline(time.Time{})
	_ = a.conn.SetWriteDeadline(time.Now().Add(abortWriteTimeout))
	if err := WritePDU(a.conn, p); err != nil {
		a.log.Debug("dimse: final PDU not sent", "pdu", p.Type().String(), "err", err)
	}
}

func (a *association) abort(source AbortSource, reason AbortReason, why error) {
	level := slog.LevelWarn
	if errors.Is(why, errShutdown) {
		level = slog.LevelInfo
	}
	a.log.Log(context.Background(), level, "dimse: aborting association", "calling", a.calling, "reason", why.Error())
	a.final(&Abort{Source: source, Reason: reason})
}

// readFailed handles a failed read: a timeout or shutdown, a PDU we
// refuse, or the peer going away.
func (a *association) readFailed(t PDUType, err error, phase string) {
	var tooLarge *TooLargeError
	switch cause := a.wd.err(); {
	case cause == errIdleTimeout:
		a.abort(AbortServiceProvider, AbortReasonNotSpecified, fmt.Errorf("idle timeout (%s) %s", a.cfg.idle, phase))
	case cause == errShutdown:
		a.abort(AbortServiceUser, AbortReasonNotSpecified, fmt.Errorf("%w %s", errShutdown, phase))
	case errors.As(err, &tooLarge):
		a.abort(AbortServiceProvider, AbortInvalidPDUParameterValue, err)
	case errors.Is(err, ErrPDU) && !t.valid():
		a.abort(AbortServiceProvider, AbortUnrecognizedPDU, err)
	case errors.Is(err, io.EOF):
		a.log.Info("dimse: connection closed by peer without release", "calling", a.calling, "phase", phase)
	default:
		a.log.Warn("dimse: connection failed", "calling", a.calling, "phase", phase, "err", err)
	}
}

// establish reads the A-ASSOCIATE-RQ and answers it; it reports whether
// the association was accepted.
func (a *association) establish(admitted bool) bool {
	t, body, err := a.read(max(maxAssociateRQ, a.cfg.maxPDU))
	if err != nil {
		a.readFailed(t, err, "awaiting A-ASSOCIATE-RQ")
		return false
	}
	if t != TypeAssociateRQ {
		a.abort(AbortServiceProvider, AbortUnexpectedPDU, protoErr("%s before A-ASSOCIATE-RQ", t))
		return false
	}
	rq, err := DecodeAssociateRQ(body)
	if err != nil {
		a.abort(AbortServiceProvider, AbortInvalidPDUParameterValue, err)
		return false
	}
	a.calling, a.called = rq.CallingAE, rq.CalledAE
	var ac *AssociateAC
	var rj *AssociateRJ
	var why string
	if admitted {
		ac, rj, why = a.cfg.negotiate(rq)
	} else {
		rj = &AssociateRJ{Result: RejectedTransient, Source: SourceServiceProviderPresentation, Reason: ReasonLocalLimitExceeded}
		why = fmt.Sprintf("%d associations already active", a.cfg.maxAssoc)
	}
	if rj != nil {
		a.log.Warn("dimse: association rejected", "calling", rq.CallingAE, "called", rq.CalledAE, "rj", rj.String(), "why", why)
		a.final(rj)
		return false
	}
	if err := a.write(ac); err != nil {
		a.log.Warn("dimse: A-ASSOCIATE-AC not sent", "calling", rq.CallingAE, "err", err)
		return false
	}
	accepted := 0
	for i, pc := range ac.Contexts {
		if pc.Result == ContextAccepted {
			a.contexts[pc.ID] = &acceptedPC{abstract: rq.Contexts[i].AbstractSyntax, ts: pc.TransferSyntax}
			accepted++
		}
	}
	a.mw = messageWriter{w: a.conn, peerMax: rq.UserInfo.MaxPDULength}
	a.log.Info("dimse: association accepted", "calling", rq.CallingAE, "called", rq.CalledAE,
		"contexts_accepted", accepted, "contexts_rejected", len(ac.Contexts)-accepted,
		"peer_max_pdu", rq.UserInfo.MaxPDULength, "peer_implementation", rq.UserInfo.ImplementationClassUID,
		"peer_version", rq.UserInfo.ImplementationVersionName)
	return true
}

// negotiate answers an A-ASSOCIATE-RQ with an AC (each presentation
// context accepted or rejected on its own) or an RJ, and says why.
func (c *serverConfig) negotiate(rq *AssociateRQ) (*AssociateAC, *AssociateRJ, string) {
	rj := func(res RejectResult, src RejectSource, reason RejectReason, why string, args ...any) (*AssociateAC, *AssociateRJ, string) {
		return nil, &AssociateRJ{Result: res, Source: src, Reason: reason}, fmt.Sprintf(why, args...)
	}
	switch {
	case rq.ProtocolVersion&1 == 0:
		return rj(RejectedPermanent, SourceServiceProviderACSE, ReasonProtocolVersionNotSupported, "protocol version 0x%04x", rq.ProtocolVersion)
	case rq.ApplicationContext != ApplicationContextName:
		return rj(RejectedPermanent, SourceServiceUser, ReasonApplicationContextNotSupported, "application context %q", rq.ApplicationContext)
	case rq.CalledAE != c.ae:
		return rj(RejectedPermanent, SourceServiceUser, ReasonCalledAETitleNotRecognized, "called AE %q, this is %q", rq.CalledAE, c.ae)
	case len(c.allow) > 0 && !slices.Contains(c.allow, rq.CallingAE):
		return rj(RejectedPermanent, SourceServiceUser, ReasonCallingAETitleNotRecognized, "calling AE %q not in the allow list", rq.CallingAE)
	case rq.UserInfo.MaxPDULength != 0 && rq.UserInfo.MaxPDULength < MinPeerPDU:
		return rj(RejectedPermanent, SourceServiceUser, ReasonNoReasonGiven, "peer maximum PDU length %d below %d", rq.UserInfo.MaxPDULength, MinPeerPDU)
	}
	ac := &AssociateAC{
		ProtocolVersion:    1,
		CalledAE:           rq.CalledAE,
		CallingAE:          rq.CallingAE,
		ApplicationContext: ApplicationContextName,
		Contexts:           make([]AcceptedContext, 0, len(rq.Contexts)),
		UserInfo: UserInfo{
			MaxPDULength:              c.maxPDU,
			ImplementationClassUID:    ImplementationClassUID,
			ImplementationVersionName: ImplementationVersionName,
		},
	}
	for _, pc := range rq.Contexts {
		r := AcceptedContext{ID: pc.ID, Result: ContextTransferSyntaxesNotSupported, TransferSyntax: pc.TransferSyntaxes[0]}
		if !c.sopClasses[pc.AbstractSyntax] {
			r.Result = ContextAbstractSyntaxNotSupported
		} else if i := slices.IndexFunc(pc.TransferSyntaxes, func(ts string) bool { return c.ts[ts] }); i >= 0 {
			r.Result, r.TransferSyntax = ContextAccepted, pc.TransferSyntaxes[i]
		}
		ac.Contexts = append(ac.Contexts, r)
	}
	return ac, nil, ""
}

func (a *association) dataPhase(ctx context.Context) {
	for {
		t, body, err := a.read(a.cfg.maxPDU)
		if err != nil {
			a.readFailed(t, err, a.phase())
			return
		}
		switch t {
		case TypePDataTF:
			if a.pdvs, err = appendPDVs(a.pdvs[:0], body); err != nil {
				a.abort(AbortServiceProvider, AbortInvalidPDUParameterValue, err)
				return
			}
			for _, pdv := range a.pdvs {
				if err := a.onPDV(ctx, pdv); err != nil {
					reason := AbortUnexpectedPDUParameter
					if !errors.Is(err, ErrProtocol) {
						reason = AbortInvalidPDUParameterValue
					}
					a.abort(AbortServiceProvider, reason, err)
					return
				}
			}
		case TypeReleaseRQ:
			if a.state != msgIdle {
				a.log.Warn("dimse: release requested with a message incomplete", "calling", a.calling, "phase", a.phase())
			}
			if err := a.write(&ReleaseRP{}); err != nil {
				a.log.Warn("dimse: A-RELEASE-RP not sent", "calling", a.calling, "err", err)
				return
			}
			a.log.Info("dimse: association released", "calling", a.calling)
			return
		case TypeAbort:
			ab, _ := DecodePDU(t, body)
			why := "malformed A-ABORT"
			if ab != nil {
				why = ab.(*Abort).String()
			}
			a.log.Warn("dimse: association aborted by peer", "calling", a.calling, "abort", why, "phase", a.phase())
			return
		default:
			a.abort(AbortServiceProvider, AbortUnexpectedPDU, protoErr("%s during an established association", t))
			return
		}
	}
}

func (a *association) phase() string {
	switch a.state {
	case msgCommand:
		return "in a command set"
	case msgData:
		return "in a data set"
	}
	return "between messages"
}

func (a *association) onPDV(ctx context.Context, pdv PDV) error {
	if a.contexts[pdv.ContextID] == nil {
		return protoErr("PDV on presentation context %d, which was not accepted", pdv.ContextID)
	}
	switch a.state {
	case msgIdle:
		if !pdv.Command {
			return protoErr("data set fragment on context %d with no command before it", pdv.ContextID)
		}
		a.state, a.pcID, a.cmdBuf = msgCommand, pdv.ContextID, a.cmdBuf[:0]
		fallthrough
	case msgCommand:
		if !pdv.Command {
			return protoErr("data set fragment before the command set was complete")
		}
		if pdv.ContextID != a.pcID {
			return protoErr("command fragment on context %d, the command began on %d", pdv.ContextID, a.pcID)
		}
		if len(a.cmdBuf)+len(pdv.Data) > MaxCommandLength {
			return cmdErr("command set exceeds %d bytes", MaxCommandLength)
		}
		a.cmdBuf = append(a.cmdBuf, pdv.Data...)
		if !pdv.Last {
			return nil
		}
		cmd, err := DecodeCommand(a.cmdBuf)
		if err != nil {
			return err
		}
		a.cmd = cmd
		if !cmd.HasDataSet {
			return a.dispatch(ctx)
		}
		a.state, a.data, a.discard = msgData, a.data[:0], 0
		return nil
	case msgData:
		if pdv.Command {
			return protoErr("command fragment while the data set of %s was incomplete", a.cmd.Field)
		}
		if pdv.ContextID != a.pcID {
			return protoErr("data set fragment on context %d, the message is on %d", pdv.ContextID, a.pcID)
		}
		switch {
		case a.discard > 0:
			a.discard += int64(len(pdv.Data))
		case int64(len(a.data))+int64(len(pdv.Data)) > a.cfg.maxObject:
			a.discard = int64(len(a.data)) + int64(len(pdv.Data))
			a.data = a.data[:0]
		default:
			a.data = append(a.data, pdv.Data...)
		}
		if pdv.Last {
			return a.dispatch(ctx)
		}
	}
	return nil
}

// dispatch handles a complete message and sends the response.
func (a *association) dispatch(ctx context.Context) error {
	cmd, pc, pcID := a.cmd, a.contexts[a.pcID], a.pcID
	a.state, a.cmd = msgIdle, nil
	var rsp *Command
	switch cmd.Field {
	case CEchoRQ:
		uid := cmd.AffectedSOPClassUID
		if uid == "" {
			uid = VerificationSOPClass
		}
		rsp = &Command{Field: CEchoRSP, AffectedSOPClassUID: uid, MessageIDBeingRespondedTo: cmd.MessageID, Status: StatusSuccess}
		a.log.Debug("dimse: C-ECHO", "calling", a.calling)
	case CStoreRQ:
		status, comment := a.store(ctx, cmd, pc)
		rsp = &Command{
			Field:                     CStoreRSP,
			AffectedSOPClassUID:       cmd.AffectedSOPClassUID,
			AffectedSOPInstanceUID:    cmd.AffectedSOPInstanceUID,
			MessageIDBeingRespondedTo: cmd.MessageID,
			Status:                    status,
			ErrorComment:              comment,
		}
	default:
		if cmd.Field.IsResponse() || cmd.Field == CCancelRQ {
			a.log.Warn("dimse: ignoring unexpected message", "calling", a.calling, "command", cmd.Field.String())
			return nil
		}
		a.log.Warn("dimse: unsupported operation", "calling", a.calling, "command", cmd.Field.String())
		rsp = &Command{Field: cmd.Field | 0x8000, AffectedSOPClassUID: cmd.AffectedSOPClassUID,
			MessageIDBeingRespondedTo: cmd.MessageID, Status: StatusUnrecognizedOperation}
	}
	b, err := rsp.Encode()
	if err != nil {
		return err
	}
	if err := a.wd.arm(false); err != nil {
		return err
	}
	defer a.wd.disarm()
	if err := a.mw.write(pcID, b, nil); err != nil {
		return fmt.Errorf("sending %s: %w", rsp.Field, err)
	}
	return nil
}

func (a *association) store(ctx context.Context, cmd *Command, pc *acceptedPC) (Status, string) {
	fail := func(st Status, format string, args ...any) (Status, string) {
		comment := fmt.Sprintf(format, args...)
		a.log.Warn("dimse: C-STORE refused", "calling", a.calling, "sop_instance", cmd.AffectedSOPInstanceUID, "status", st.String(), "why", comment)
		if len(comment) > 64 { // Error Comment is LO
			comment = comment[:64]
		}
		return st, comment
	}
	switch {
	case !cmd.HasDataSet:
		return fail(StatusCannotUnderstand, "C-STORE-RQ without a data set")
	case cmd.AffectedSOPClassUID == "":
		return fail(StatusCannotUnderstand, "no Affected SOP Class UID")
	case cmd.AffectedSOPClassUID != pc.abstract:
		return fail(StatusCannotUnderstand, "SOP class %s on context for %s", cmd.AffectedSOPClassUID, pc.abstract)
	case cmd.AffectedSOPInstanceUID == "":
		return fail(StatusCannotUnderstand, "no Affected SOP Instance UID")
	case a.discard > 0:
		return fail(StatusOutOfResources, "data set of %d bytes over limit %d", a.discard, a.cfg.maxObject)
	}
	req := &StoreRequest{
		CallingAE:         a.calling,
		CalledAE:          a.called,
		SOPClassUID:       cmd.AffectedSOPClassUID,
		SOPInstanceUID:    cmd.AffectedSOPInstanceUID,
		TransferSyntaxUID: pc.ts,
		MessageID:         cmd.MessageID,
		Priority:          cmd.Priority,
		Data:              a.data,
	}
	start := a.cfg.clock.Now()
	st := a.callHandler(ctx, req)
	a.log.Debug("dimse: C-STORE", "calling", a.calling, "sop_class", req.SOPClassUID, "sop_instance", req.SOPInstanceUID,
		"ts", req.TransferSyntaxUID, "bytes", len(req.Data), "status", st.String(), "took", a.cfg.clock.Since(start))
	return st, ""
}

func (a *association) callHandler(ctx context.Context, req *StoreRequest) (st Status) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("dimse: Handler panicked", "sop_instance", req.SOPInstanceUID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			st = StatusCannotUnderstand
		}
	}()
	return a.cfg.handler(ctx, req)
}
