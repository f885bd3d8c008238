package filter

import (
	"testing"
	"time"
)

func defaultTime() TimeMatch {
	return TimeMatch{DayStop: TimeMaxDaytime, Weekdays: TimeAllWeekdays, Monthdays: TimeAllMonthdays, DateStop: TimeMaxDate}
}

func TestTimeMatchWindowsAndDays(t *testing.T) {
	hm := func(h, m int) uint32 { return uint32(h*3600 + m*60) }
	with := func(f func(*TimeMatch)) TimeMatch { m := defaultTime(); f(&m); return m }
	// 2024-05-06 is a Monday.
	mon := func(h, m int) time.Time { return time.Date(2024, 5, 6, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		m    TimeMatch
		now  time.Time
		want bool
	}{
		{"defaults match", defaultTime(), mon(12, 0), true},
		{"inside 09-17", with(func(m *TimeMatch) { m.DayStart, m.DayStop = hm(9, 0), hm(17, 0) }), mon(12, 0), true},
		{"outside 09-17", with(func(m *TimeMatch) { m.DayStart, m.DayStop = hm(9, 0), hm(17, 0) }), mon(18, 0), false},
		{"across midnight, late", with(func(m *TimeMatch) { m.DayStart, m.DayStop = hm(23, 0), hm(1, 0) }), mon(23, 30), true},
		{"across midnight, early", with(func(m *TimeMatch) { m.DayStart, m.DayStop = hm(23, 0), hm(1, 0) }), mon(0, 30), true},
		{"across midnight, noon", with(func(m *TimeMatch) { m.DayStart, m.DayStop = hm(23, 0), hm(1, 0) }), mon(12, 0), false},
		{"monday", with(func(m *TimeMatch) { m.Weekdays = 1 << 1 }), mon(12, 0), true},
		{"sunday only", with(func(m *TimeMatch) { m.Weekdays = 1 << 7 }), mon(12, 0), false},
		{"sunday night window, contiguous, monday 00:30", with(func(m *TimeMatch) {
			m.DayStart, m.DayStop, m.Weekdays, m.Contiguous = hm(23, 0), hm(1, 0), 1<<7, true
		}), mon(0, 30), true},
		{"sunday night window, not contiguous, monday 00:30", with(func(m *TimeMatch) {
			m.DayStart, m.DayStop, m.Weekdays = hm(23, 0), hm(1, 0), 1<<7
		}), mon(0, 30), false},
		{"monthday 6", with(func(m *TimeMatch) { m.Monthdays = 1 << 6 }), mon(12, 0), true},
		{"monthday 7", with(func(m *TimeMatch) { m.Monthdays = 1 << 7 }), mon(12, 0), false},
		{"before datestart", with(func(m *TimeMatch) { m.DateStart = uint32(mon(13, 0).Unix()) }), mon(12, 0), false},
		{"after datestop", with(func(m *TimeMatch) { m.DateStop = uint32(mon(11, 0).Unix()) }), mon(12, 0), false},
		{"kerneltz shifts into the window", with(func(m *TimeMatch) { m.DayStart, m.DayStop, m.LocalTZ = hm(14, 0), hm(15, 0), true }),
			mon(12, 30).In(time.FixedZone("CEST", 2*3600)), true},
		{"utc ignores the zone", with(func(m *TimeMatch) { m.DayStart, m.DayStop = hm(14, 0), hm(15, 0) }),
			mon(12, 30).In(time.FixedZone("CEST", 2*3600)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := matchCtx(mUDP4.decode(t))
			c.Now = tt.now
			if got := tt.m.Match(c); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
