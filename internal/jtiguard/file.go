package jtiguard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The guard file, version 2:
//
//	hookledger-jtiguard 2 lost-before=<unix-ms>\n   header, written only by rewrite
//	<crc> <expiry-unix-ms> <key>\n                   one record per FirstUse or Forget
//
// crc is the CRC-32C of "<expiry-unix-ms> <key>" in 8 lowercase hex digits,
// so a torn or damaged record is told from a good one exactly. Later records
// win; Forget writes expiry 0. lost-before is 0, or the time at which the
// guard found memory lost (see Guard). Version 1 files (records without crc,
// no header) are read and rewritten as version 2.
const (
	headerMagic = "hookledger-jtiguard "
	version     = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends one record line to buf.
func appendRecord(buf []byte, expiryMS int64, key string) []byte {
	start := len(buf)
	buf = append(buf, "00000000 "...)
	body := len(buf)
	buf = strconv.AppendInt(buf, expiryMS, 10)
	buf = append(buf, ' ')
	buf = append(buf, key...)
	crc := crc32.Checksum(buf[body:], castagnoli)
	const digits = "0123456789abcdef"
	for i := 7; i >= 0; i-- {
		buf[start+i] = digits[crc&0xf]
		crc >>= 4
	}
	return append(buf, '\n')
}

func header(lostBefore time.Time) string {
	ms := int64(0)
	if !lostBefore.IsZero() {
		ms = lostBefore.UnixMilli()
	}
	return fmt.Sprintf("%s%d lost-before=%d\n", headerMagic, version, ms)
}

// parseRecord parses a version 2 record line (without its newline).
func parseRecord(line []byte) (expiryMS int64, key string, ok bool) {
	if len(line) < 10 || line[8] != ' ' {
		return 0, "", false
	}
	want, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil || crc32.Checksum(line[9:], castagnoli) != uint32(want) {
		return 0, "", false
	}
	return parseV1(line[9:])
}

// parseV1 parses "<expiry-unix-ms> <key>".
func parseV1(line []byte) (expiryMS int64, key string, ok bool) {
	ms, k, found := bytes.Cut(line, []byte(" "))
	exp, err := strconv.ParseInt(string(ms), 10, 64)
	if !found || err != nil {
		return 0, "", false
	}
	return exp, string(k), true
}

// parseHeader parses the header line (without its newline); ok is false
// when it is not one.
func parseHeader(line []byte) (v int, lostBefore time.Time, ok bool) {
	var ms int64
	if _, err := fmt.Sscanf(string(line), headerMagic+"%d lost-before=%d", &v, &ms); err != nil {
		return 0, time.Time{}, false
	}
	if ms != 0 {
		lostBefore = time.UnixMilli(ms)
	}
	return v, lostBefore, true
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// contents is what load found in a guard file.
type contents struct {
	exists bool
	empty  bool
	// records holds every good record in file order (later ones win).
	records []record
	// lostBefore is the header's lost-before (zero: none).
	lostBefore time.Time
	// damage describes lost content: a bad header, bad records before the
	// last one. Each entry names the line and offset.
	damage []string
	// torn describes a bad last record ("" when there is none).
	torn string
}

type record struct {
	key      string
	expiryMS int64
}

// load reads the guard file at path. Lines have no length limit. It fails
// only when the file cannot be read or is of a newer version; what it
// cannot parse it reports in damage and torn.
func load(path string) (contents, error) {
	var c contents
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("jtiguard: open: %w", err)
	}
	defer f.Close()
	c.exists = true
	s := scanner{c: &c}
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("jtiguard: read %s at offset %d: %w", path, s.offset, err)
		}
		if len(line) == 0 {
			break
		}
		if err := s.line(line); err != nil {
			return c, fmt.Errorf("jtiguard: %s: %w", path, err)
		}
	}
	c.torn = s.bad
	c.empty = s.lineNo == 0
	return c, nil
}

// scanner classifies the lines of a guard file into c.
type scanner struct {
	c      *contents
	offset int64
	lineNo int
	v1     bool   // no header: a version 1 file
	bad    string // the latest bad line: the torn tail if nothing follows
}

func (s *scanner) line(line []byte) error {
	s.lineNo++
	at := fmt.Sprintf("line %d at offset %d (%d bytes)", s.lineNo, s.offset, len(line))
	s.offset += int64(len(line))
	if s.bad != "" {
		s.c.damage = append(s.c.damage, s.bad) // a line follows: not torn
		s.bad = ""
	}
	complete := line[len(line)-1] == '\n'
	body := bytes.TrimSuffix(line, []byte("\n"))
	if s.lineNo == 1 {
		if !bytes.HasPrefix(body, []byte(headerMagic)) {
			s.v1 = true
		} else {
			return s.header(at, body, complete)
		}
	}
	parse := parseRecord
	if s.v1 {
		parse = parseV1
	}
	exp, key, ok := parse(body)
	switch {
	case ok && complete:
		s.c.records = append(s.c.records, record{key: key, expiryMS: exp})
	case !complete:
		s.bad = at + ": no line end"
	default:
		s.bad = at + ": fails its checksum"
	}
	return nil
}

func (s *scanner) header(at string, body []byte, complete bool) error {
	v, lost, ok := parseHeader(body)
	switch {
	case !ok || !complete:
		s.c.damage = append(s.c.damage, fmt.Sprintf("%s: unreadable header %q", at, clip(body)))
	case v != version:
		return fmt.Errorf("version %d, written by a newer hookledger; this one reads version %d", v, version)
	}
	s.c.lostBefore = lost
	return nil
}

// losses describes what c lost; marked tells whether the file's marker
// exists (the file was created before).
func (c *contents) losses(marked bool) []string {
	var lost []string
	switch {
	case !c.exists && marked:
		lost = append(lost, "the file is missing")
	case c.empty && marked:
		lost = append(lost, "the file is empty (it always holds a header)")
	}
	return append(lost, c.damage...)
}

// writeFile replaces path with a file holding the header and recs, fsynced
// (and the directory too when syncDirectory), and returns it open for
// appending. On error path is unchanged.
func writeFile(path string, lostBefore time.Time, recs map[string]time.Time, syncDirectory bool) (*os.File, int, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("jtiguard: rewrite: %w", err)
	}
	fail := func(err error) (*os.File, int, error) {
		f.Close()
		os.Remove(tmp)
		return nil, 0, fmt.Errorf("jtiguard: rewrite %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	w.WriteString(header(lostBefore))
	var buf []byte
	for k, exp := range recs {
		buf = appendRecord(buf[:0], exp.UnixMilli(), k)
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if syncDirectory {
		if err := syncDir(filepath.Dir(path)); err != nil {
			// The rename happened; only its durability is in doubt.
			return f, len(recs), fmt.Errorf("jtiguard: rewrite %s: %w", path, err)
		}
	}
	return f, len(recs), nil
}

// syncDir makes a rename or creation in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// markerPath is the marker beside the guard file at path: it exists from
// the guard file's first creation on, so a missing guard file is known to
// be lost rather than never written.
func markerPath(path string) string { return path + ".created" }

func writeMarker(path string, now time.Time) error {
	text := fmt.Sprintf("created=%s\n# While this file exists, a missing or damaged %s means remembered Vonage jtis were lost;\n# hookledger then refuses JWTs issued before it noticed, until they are out of max_age.\n",
		now.UTC().Format(time.RFC3339), filepath.Base(path))
	f, err := os.OpenFile(markerPath(path), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("jtiguard: marker: %w", err)
	}
	_, err = f.WriteString(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("jtiguard: marker %s: %w", markerPath(path), err)
	}
	return nil
}
