package provider

import "time"

// Provider times outside [EarliestProviderTime, LatestProviderTime) are not
// believed. A year 1800 or 2999 in a payload is a provider or test bug, not
// an event time: stored, it would win every "later provider time" tie in
// the current-state tables for good, and ClickHouse drivers that convert
// through Unix nanoseconds cannot carry years after 2262.
var (
	EarliestProviderTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	LatestProviderTime   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// EventTime is the time to store for an event: the provider's time in UTC
// when it parsed (ok) and is plausible, else the receive time, because a
// bad timestamp must not lose the event.
func EventTime(providerTime time.Time, ok bool, receivedAt time.Time) time.Time {
	if ok && !providerTime.Before(EarliestProviderTime) && providerTime.Before(LatestProviderTime) {
		return providerTime.UTC()
	}
	return receivedAt.UTC()
}
