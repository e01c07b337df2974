package dimse

// Well-known UIDs (PS3.6 Annex A).
const (
	// ApplicationContextName is the DICOM Application Context Name, the only
	// one PS3.7 defines.
	ApplicationContextName = "1.2.840.10008.3.1.1.1"

	// VerificationSOPClass is the C-ECHO SOP class.
	VerificationSOPClass = "1.2.840.10008.1.1"
	// CTImageStorage is the CT Image Storage SOP class.
	CTImageStorage = "1.2.840.10008.5.1.4.1.1.2"
	// EnhancedCTImageStorage is the Enhanced CT Image Storage SOP class.
	EnhancedCTImageStorage = "1.2.840.10008.5.1.4.1.1.2.1"
	// SecondaryCaptureImageStorage is the Secondary Capture Image Storage SOP class.
	SecondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7"
	// SegmentationStorage is the Segmentation Storage SOP class (for sending
	// results to a PACS with the SCU).
	SegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4"

	// ImplicitVRLittleEndian is the default DICOM transfer syntax.
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	// ExplicitVRLittleEndian is the Explicit VR Little Endian transfer syntax.
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	// ExplicitVRBigEndian is the retired Explicit VR Big Endian transfer syntax
	// (never accepted by the Server).
	ExplicitVRBigEndian = "1.2.840.10008.1.2.2"

	// ImplementationClassUID identifies this implementation in A-ASSOCIATE
	// user information. It is a UUID-derived UID (PS3.5 B.2), so it needs no
	// registered root.
	ImplementationClassUID = "2.25.217232741027142905753979144922045907202"
	// ImplementationVersionName is sent with ImplementationClassUID (≤ 16 chars).
	ImplementationVersionName = "LSMS_EDGE_1"
)

// DefaultSOPClasses are the storage SOP classes the Server accepts when
// Server.SOPClasses is nil. Verification is always accepted in addition.
var DefaultSOPClasses = []string{
	CTImageStorage,
	EnhancedCTImageStorage,
	SecondaryCaptureImageStorage,
}

// DefaultTransferSyntaxes are the transfer syntaxes the Server accepts, in
// no particular order of preference (the requestor's order is honoured).
var DefaultTransferSyntaxes = []string{
	ExplicitVRLittleEndian,
	ImplicitVRLittleEndian,
}
