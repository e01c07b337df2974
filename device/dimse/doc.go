// Package dimse is a DICOM Storage SCP and a minimal SCU over TCP: the
// Upper Layer protocol of PS3.8 (A-ASSOCIATE-RQ/AC/RJ, P-DATA-TF,
// A-RELEASE-RQ/RP, A-ABORT) and the C-ECHO and C-STORE services of PS3.7.
//
// # Server
//
// Server accepts associations whose called AE title is Server.AETitle and
// whose calling AE title is in Server.Allow (when set); anything else is
// answered with A-ASSOCIATE-RJ naming the reason. Every proposed
// presentation context is answered on its own: accepted with the first
// proposed transfer syntax that is Implicit or Explicit VR Little Endian;
// rejected with result 4 (transfer syntaxes not supported) otherwise, or
// result 3 (abstract syntax not supported) when the SOP class is not
// Verification or one of Server.SOPClasses (CT, Enhanced CT and Secondary
// Capture by default).
//
// P-DATA-TF fragments are reassembled into command sets (always Implicit
// VR Little Endian) and data sets. Each C-STORE-RQ is handed to
// Server.Handler as a StoreRequest (calling AE, SOP class and instance
// UIDs, transfer syntax, data set bytes without File Meta Information);
// the Status it returns goes back in the C-STORE-RSP: StatusSuccess,
// StatusOutOfResources (0xA700) when it cannot take the object now. The
// Server itself answers StatusCannotUnderstand (0xC000) for a C-STORE-RQ
// it cannot make sense of (no data set, no instance UID, SOP class not
// that of its presentation context) and 0xA700 for a data set above
// Server.MaxObjectSize. Handler calls are sequential per association, so a
// Handler that blocks holds back that sender: backpressure.
//
// Limits: MaxAssociations concurrent associations (more are rejected,
// transient, local limit exceeded); MaxPDU, the PDU-length announced and
// enforced (a larger PDU gets A-ABORT); IdleTimeout, measured on an
// injected clockwork.Clock while the Server waits on the peer (never while
// Handler runs). Cancelling the context given to Serve stops accepting,
// lets each association finish the message in progress, then aborts it;
// Serve returns once all have ended.
//
// Malformed input — a truncated or oversized PDU, an item whose length
// overruns its parent, a data fragment before a command, a fragment on a
// context that was not accepted, a command set that does not decode — ends
// the association with A-ABORT and a log line naming the problem; it never
// panics. The parsers (ReadPDU, DecodeAssociateRQ, DecodeCommand) are
// fuzzed.
//
// # Client
//
// Dial (or NewClient on an existing connection) proposes Verification and,
// for each SOP class, one presentation context per transfer syntax; Echo
// and Store use them, and Release ends the association. It is used to
// send results to a PACS, and by the tests.
//
// Interoperability is tested against dcmtk (echoscu, storescu, storescp)
// when it is installed (apt-get install dcmtk); LSMS_REQUIRE_DICOM_TOOLS=1
// turns a missing dcmtk into a test failure.
package dimse
