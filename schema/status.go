package schema

// Message statuses (docs/vocabularies.md#message-statuses). A message's current status is the one with the
// highest rank; ties go to the later provider time, then the later receive
// time, so a late-arriving "sent" never hides an earlier "delivered".
const (
	MessageUnknown     = "unknown"
	MessageQueued      = "queued"
	MessageSent        = "sent"
	MessageDelivered   = "delivered"
	MessageUndelivered = "undelivered"
	MessageFailed      = "failed"
	MessageExpired     = "expired"
	MessageRejected    = "rejected"
	MessageRead        = "read"
)

var messageRank = map[string]uint8{
	MessageUnknown: 0, MessageQueued: 1, MessageSent: 2,
	MessageDelivered: 3, MessageUndelivered: 3, MessageFailed: 3,
	MessageExpired: 3, MessageRejected: 3, MessageRead: 4,
}

// MessageStatusRank returns the rank of a normalised message status and
// whether the status is part of the vocabulary.
func MessageStatusRank(status string) (uint8, bool) {
	r, ok := messageRank[status]
	return r, ok
}

// MessageFinalFailures are the terminal statuses that count against the
// delivery rate, next to MessageDelivered.
var MessageFinalFailures = []string{MessageUndelivered, MessageFailed, MessageExpired, MessageRejected}

// Call statuses (docs/vocabularies.md#call-statuses), ranked like message statuses.
const (
	CallInitiated = "initiated"
	CallRinging   = "ringing"
	CallAnswered  = "answered"
	CallCompleted = "completed"
	CallBusy      = "busy"
	CallNoAnswer  = "no_answer"
	CallCancelled = "cancelled"
	CallRejected  = "rejected"
	CallFailed    = "failed"
)

var callRank = map[string]uint8{
	CallInitiated: 1, CallRinging: 2, CallAnswered: 3,
	CallCompleted: 4, CallBusy: 4, CallNoAnswer: 4, CallCancelled: 4,
	CallRejected: 4, CallFailed: 4,
}

// CallStatusRank returns the rank of a normalised call status and whether the
// status is part of the vocabulary. Non-status call events (recordings,
// input, transfers) have the empty status and rank 0.
func CallStatusRank(status string) (uint8, bool) {
	if status == "" {
		return 0, true
	}
	r, ok := callRank[status]
	return r, ok
}
