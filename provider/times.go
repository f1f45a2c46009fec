package provider

import "time"

// Provider times outside [earliestProviderTime, latestProviderTime) are not
// believed. A year 1800 or 2999 in a payload is a provider or test bug, not
// an event time: stored, it would win every "later provider time" tie in
// the current-state tables for good, and ClickHouse drivers that convert
// through Unix nanoseconds cannot carry years after 2262.
var (
	earliestProviderTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latestProviderTime   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// PlausibleTime reports whether a time a provider sent can be believed.
func PlausibleTime(t time.Time) bool {
	return !t.Before(earliestProviderTime) && t.Before(latestProviderTime)
}

// EventTime is the time to store for an event whose payload gave
// providerTime: that time in UTC when it is plausible, else the receive
// time, because a bad timestamp must not lose the event.
func EventTime(providerTime, receivedAt time.Time) time.Time {
	if PlausibleTime(providerTime) {
		return providerTime.UTC()
	}
	return receivedAt.UTC()
}
