package iptables

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nfgo/nfgo/filter"
)

// -m time (libxt_time.c). iptables-save prints, in this order: the daily
// window when it is not the whole day, --monthdays and --weekdays when
// they are not all days, --datestart when set, --datestop always (nft
// keeps the default 2038-01-19T03:14:07), then --kerneltz and
// --contiguous. '!' before --weekdays or --monthdays complements the set.
func init() {
	register(&extension{
		name: "time",
		parser: func(*ruleContext) extParser {
			return &timeMatchParser{m: filter.TimeMatch{
				DayStop: filter.TimeMaxDaytime, Weekdays: filter.TimeAllWeekdays,
				Monthdays: filter.TimeAllMonthdays, DateStop: filter.TimeMaxDate,
			}, seen: map[string]bool{}}
		},
		save: saveTime,
		owns: ownedBy[filter.TimeMatch](),
	})
}

var weekdayNames = [8]string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

type timeMatchParser struct {
	m    filter.TimeMatch
	seen map[string]bool
}

func (p *timeMatchParser) option(name string, invert bool, a *args) error {
	switch name {
	case "datestart", "datestop", "timestart", "timestop", "weekdays", "monthdays",
		"kerneltz", "localtz", "utc", "contiguous":
	default:
		return errNotMine
	}
	key := name
	if key == "localtz" {
		key = "kerneltz"
	}
	if p.seen[key] {
		return onceErr("time", name)
	}
	if key == "kerneltz" && p.seen["utc"] || key == "utc" && p.seen["kerneltz"] {
		other := "kerneltz"
		if key == "kerneltz" {
			other = "utc"
		}
		return fmt.Errorf("%w: time: option \"--%s\" cannot be used together with \"--%s\"", ErrSyntax, name, other)
	}
	if invert && name != "weekdays" && name != "monthdays" {
		return noInvertErr("time", name)
	}
	m := &p.m
	switch name {
	case "kerneltz", "localtz":
		m.LocalTZ = true
	case "utc":
		m.LocalTZ = false
	case "contiguous":
		m.Contiguous = true
	default:
		v, err := a.value(name)
		if err != nil {
			return err
		}
		switch name {
		case "datestart", "datestop":
			d, err := parseTimeDate(v)
			if err != nil {
				return err
			}
			if name == "datestart" {
				m.DateStart = d
			} else {
				m.DateStop = d
			}
		case "timestart", "timestop":
			t, err := parseDaytime(v)
			if err != nil {
				return err
			}
			if name == "timestart" {
				m.DayStart = t
			} else {
				m.DayStop = t
			}
		case "weekdays":
			w, err := parseWeekdays(v)
			if err != nil {
				return err
			}
			if invert {
				w ^= filter.TimeAllWeekdays
			}
			m.Weekdays = w
		case "monthdays":
			d, err := parseMonthdays(v)
			if err != nil {
				return err
			}
			if invert {
				d ^= filter.TimeAllMonthdays
			}
			m.Monthdays = d
		}
	}
	p.seen[key] = true
	return nil
}

// parseTimeDate parses YYYY[-MM[-DD[Thh[:mm[:ss]]]]] in UTC. Every part
// is a base-10 number, and may be empty; out-of-range days roll over as
// with mktime (2020-02-30 is 2020-03-01). Years run from 1970 to 2038.
func parseTimeDate(s string) (uint32, error) {
	bad := fmt.Errorf("%w: Invalid date \"%s\" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]", ErrBadArgument, s)
	vals := [6]uint64{0, 1, 1, 0, 0, 0}
	limits := [6]uint64{2038, 12, 31, 23, 59, 59}
	seps := [6]byte{'-', '-', 'T', ':', ':', 0}
	rest := s
	for i := range vals {
		v, r, ok := cStrtoul(rest, 10)
		if !ok {
			v, r = 0, rest
		}
		if r != "" && r[0] != seps[i] || v > limits[i] || (i == 0 && v < 1970) {
			return 0, bad
		}
		vals[i] = v
		if r == "" {
			break
		}
		rest = r[1:]
	}
	t := time.Date(int(vals[0]), time.Month(vals[1]), int(vals[2]), int(vals[3]), int(vals[4]), int(vals[5]), 0, time.UTC).Unix()
	if t < 0 || t >= 0xFFFFFFFF {
		return 0, bad
	}
	return uint32(t), nil
}

// parseDaytime parses hh:mm[:ss].
func parseDaytime(s string) (uint32, error) {
	bad := fmt.Errorf("%w: invalid time \"%s\" specified, should be hh:mm[:ss] format and within the boundaries", ErrBadArgument, s)
	h, r, ok := cStrtoul(s, 10)
	if !ok || h > 23 || !strings.HasPrefix(r, ":") {
		return 0, bad
	}
	mi, r, ok := cStrtoul(r[1:], 10)
	if !ok || mi > 59 || (r != "" && r[0] != ':') {
		return 0, bad
	}
	var sec uint64
	if r != "" {
		if sec, r, ok = cStrtoul(r[1:], 10); !ok || sec > 59 || r != "" {
			return 0, bad
		}
	}
	return uint32(h*3600 + mi*60 + sec), nil
}

// parseWeekdays parses a list of day numbers (1 = Monday) or names, of
// which only the first two letters count, case-sensitively ("Mo").
func parseWeekdays(s string) (uint8, error) {
	var v uint8
	items := strings.Split(s, ",")
	if len(items) > 1 && items[len(items)-1] == "" {
		items = items[:len(items)-1]
	}
	for _, item := range items {
		if n, rest, ok := cStrtoul(item, 10); ok && rest == "" {
			if n == 0 {
				return 0, fmt.Errorf("%w: No, the week does NOT begin with Sunday", ErrBadArgument)
			}
			if n < 8 {
				v |= 1 << n
			}
			continue
		}
		found := false
		for i := 1; i < len(weekdayNames); i++ {
			if len(item) >= 2 && item[:2] == weekdayNames[i][:2] {
				v |= 1 << i
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("%w: No, the week does NOT begin with Sunday", ErrBadArgument)
		}
	}
	return v, nil
}

// parseMonthdays parses a list of days of the month, 0 to 31 (day 0 is
// accepted and sets a bit no month has).
func parseMonthdays(s string) (uint32, error) {
	var v uint32
	items := strings.Split(s, ",")
	if len(items) > 1 && items[len(items)-1] == "" {
		items = items[:len(items)-1]
	}
	for _, item := range items {
		n, rest, ok := cStrtoul(item, 10)
		if !ok || rest != "" || n > 31 {
			return 0, fmt.Errorf("%w: %s is not a valid day for --monthdays", ErrBadArgument, item)
		}
		v |= 1 << n
	}
	return v, nil
}

func formatDaytime(t uint32) string {
	return fmt.Sprintf("%02d:%02d:%02d", t/3600, t/60%60, t%60)
}

func saveTime(w *saver, x any) {
	m := x.(*filter.TimeMatch)
	if m.DayStart != 0 || m.DayStop != filter.TimeMaxDaytime {
		w.opt(false, "timestart", formatDaytime(m.DayStart))
		w.opt(false, "timestop", formatDaytime(m.DayStop))
	}
	if m.Monthdays != filter.TimeAllMonthdays {
		var parts []string
		for d := 1; d <= 31; d++ {
			if m.Monthdays&(1<<d) != 0 {
				parts = append(parts, strconv.Itoa(d))
			}
		}
		w.opt(false, "monthdays", strings.Join(parts, ","))
	}
	if m.Weekdays != filter.TimeAllWeekdays {
		var parts []string
		for d := 1; d <= 7; d++ {
			if m.Weekdays&(1<<d) != 0 {
				parts = append(parts, weekdayNames[d])
			}
		}
		w.opt(false, "weekdays", strings.Join(parts, ","))
	}
	if m.DateStart != 0 {
		w.opt(false, "datestart", time.Unix(int64(m.DateStart), 0).UTC().Format("2006-01-02T15:04:05"))
	}
	w.opt(false, "datestop", time.Unix(int64(m.DateStop), 0).UTC().Format("2006-01-02T15:04:05"))
	if m.LocalTZ {
		w.opt(false, "kerneltz", "")
	}
	if m.Contiguous {
		w.opt(false, "contiguous", "")
	}
}

// done refuses an empty weekday or monthday set ("--monthdays 0",
// "--weekdays 8", or a complement of every day). iptables 1.8.9 accepts
// such a rule, which never matches, and saves it as "--monthdays " with no
// value, which it cannot read back; nfgo rejects it instead.
func (p *timeMatchParser) done() (any, error) {
	if p.m.Weekdays&filter.TimeAllWeekdays == 0 {
		return nil, fmt.Errorf("%w: time: --weekdays selects no day", ErrBadArgument)
	}
	if p.m.Monthdays&filter.TimeAllMonthdays == 0 {
		return nil, fmt.Errorf("%w: time: --monthdays selects no day", ErrBadArgument)
	}
	return &p.m, nil
}
