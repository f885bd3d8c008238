package filter

import (
	"errors"
	"time"
)

// Time match defaults (xt_time.h).
const (
	// TimeMaxDaytime is XT_TIME_MAX_DAYTIME, 23:59:59 in seconds.
	TimeMaxDaytime = 24*60*60 - 1
	// TimeAllWeekdays is XT_TIME_ALL_WEEKDAYS: bits 1 (Monday) to 7.
	TimeAllWeekdays = 0xFE
	// TimeAllMonthdays is XT_TIME_ALL_MONTHDAYS: bits 1 to 31.
	TimeAllMonthdays = 0xFFFFFFFE
	// TimeMaxDate is the default --datestop, 2038-01-19T03:14:07 (INT_MAX).
	TimeMaxDate = 1<<31 - 1
)

// TimeMatch is -m time (xt_time.c). It reads Context.Now. Times and dates
// are UTC unless LocalTZ (--kerneltz) is set, in which case the offset of
// Context.Now's location stands for the kernel's sys_tz.
//
// The zero value matches nothing (no weekdays); start from the defaults:
// DayStop TimeMaxDaytime, Weekdays TimeAllWeekdays, Monthdays
// TimeAllMonthdays, DateStop TimeMaxDate.
type TimeMatch struct {
	// DayStart and DayStop are --timestart and --timestop in seconds
	// since midnight. DayStart > DayStop is a window across midnight.
	DayStart, DayStop uint32
	// Weekdays has bit 1 for Monday … bit 7 for Sunday.
	Weekdays uint8
	// Monthdays has bit n for day n of the month.
	Monthdays uint32
	// DateStart and DateStop are --datestart and --datestop in seconds
	// since the epoch.
	DateStart, DateStop uint32
	// LocalTZ is --kerneltz.
	LocalTZ bool
	// Contiguous is --contiguous: a window across midnight belongs to
	// the day it started on, for the weekday and monthday tests.
	Contiguous bool
}

// Name returns "time".
func (*TimeMatch) Name() string { return "time" }

// Match follows time_mt.
func (m *TimeMatch) Match(c *Context) bool {
	stamp := c.Now.Unix()
	if m.LocalTZ {
		_, off := c.Now.Zone()
		stamp += int64(off)
	}
	if stamp < int64(m.DateStart) || stamp > int64(m.DateStop) {
		return false
	}
	day := stamp % 86400
	if day < 0 {
		day += 86400
	}
	start, stop := int64(m.DayStart), int64(m.DayStop)
	if start < stop {
		if day < start || day > stop {
			return false
		}
	} else {
		if day < start && day > stop {
			return false
		}
		if m.Contiguous && day <= stop {
			// The window started yesterday: test yesterday's date.
			stamp -= 86400
		}
	}
	// 1970-01-01 was a Thursday (4); Monday is 1 and Sunday 7.
	days := stamp / 86400
	if stamp < 0 && stamp%86400 != 0 {
		days--
	}
	weekday := ((3+days)%7+7)%7 + 1
	if m.Weekdays&(1<<weekday) == 0 {
		return false
	}
	if m.Monthdays != TimeAllMonthdays {
		mday := time.Unix(stamp, 0).UTC().Day()
		if m.Monthdays&(1<<mday) == 0 {
			return false
		}
	}
	return true
}

// CheckRule refuses --contiguous for a window that does not cross
// midnight (time_mt_check).
func (m *TimeMatch) CheckRule(_ *Rule, _ Site) error {
	if m.Contiguous && m.DayStart < m.DayStop {
		return errContiguous
	}
	return nil
}

var errContiguous = errors.New("--contiguous is pointless when --timestart < --timestop")
