package kafkalog

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// kfake's on-disk state (franz-go pkg/kfake persist.go, format version 1):
// meta.json and topics.json name the cluster and its topics; each
// partition's log lives in partitions/<path-escaped topic>-<partition>/.
// A partition directory whose topic topics.json does not list is not
// loaded, and a topic created again under that name appends to the old
// segment files while indexing them as empty: its reads return garbage.
type (
	kfakeMeta struct {
		Version   int    `json:"version"`
		ClusterID string `json:"cluster_id"`
	}
	kfakeTopics struct {
		Version int          `json:"version"`
		Topics  []kfakeTopic `json:"topics"`
	}
	kfakeTopic struct {
		Name       string            `json:"name"`
		ID         []byte            `json:"id"` // 16 bytes, base64 in JSON as kfake writes it
		Partitions int               `json:"partitions"`
		Replicas   int               `json:"replicas"`
		Configs    map[string]string `json:"configs,omitempty"`
	}
)

const kfakePersistVersion = 1

// restoreOrphanedTopics puts back into topics.json (and meta.json) every
// topic whose partition logs are on disk but which the state files no
// longer list (a deleted or lost topics.json), so the broker loads those
// logs instead of serving a recreated topic over them. Each restore is
// logged as an error: it means the broker's state files were damaged.
// Topic configs are not on disk outside topics.json; restored topics get
// the broker defaults until EnsureTopics sets them again.
func restoreOrphanedTopics(dir, clusterID string, log *slog.Logger) error {
	parts, err := partitionDirs(dir)
	if err != nil || len(parts) == 0 {
		return err
	}
	var topics kfakeTopics
	if err := readJSON(filepath.Join(dir, "topics.json"), &topics); err != nil {
		return err
	}
	if topics.Version == 0 {
		topics.Version = kfakePersistVersion
	}
	known := map[string]bool{}
	for _, t := range topics.Topics {
		known[t.Name] = true
	}
	var restored []string
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		if known[name] {
			continue
		}
		id := make([]byte, 16)
		_, _ = rand.Read(id)
		topics.Topics = append(topics.Topics, kfakeTopic{Name: name, ID: id, Partitions: parts[name], Replicas: 1})
		restored = append(restored, name)
		log.Error("EMBEDDED KAFKA STATE DAMAGED: a topic's logs are on disk but topics.json does not list it; restoring it",
			"topic", name, "partitions", parts[name], "dir", dir)
	}
	if len(restored) == 0 {
		return nil
	}
	var meta kfakeMeta
	if err := readJSON(filepath.Join(dir, "meta.json"), &meta); err != nil {
		return err
	}
	if meta.Version == 0 {
		meta = kfakeMeta{Version: kfakePersistVersion, ClusterID: clusterID}
		if err := writeJSON(filepath.Join(dir, "meta.json"), meta); err != nil {
			return err
		}
	}
	return writeJSON(filepath.Join(dir, "topics.json"), topics)
}

// partitionDirs maps each topic with partition logs under dir to its
// partition count (highest partition number + 1).
func partitionDirs(dir string) (map[string]int, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "partitions"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kafkalog: embedded broker partitions: %w", err)
	}
	out := map[string]int{}
	for _, e := range entries {
		i := strings.LastIndexByte(e.Name(), '-')
		if !e.IsDir() || i <= 0 {
			continue
		}
		p, err := strconv.Atoi(e.Name()[i+1:])
		name, uerr := url.PathUnescape(e.Name()[:i])
		if err != nil || uerr != nil || p < 0 {
			continue
		}
		out[name] = max(out[name], p+1)
	}
	return out, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return fmt.Errorf("kafkalog: embedded broker state %s: %w", filepath.Base(path), err)
	}
	return nil
}

// writeJSON replaces path atomically and durably, as kfake does.
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err == nil {
		_, err = f.Write(b)
		if err == nil {
			err = f.Sync()
		}
		err = errors.Join(err, f.Close())
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("kafkalog: embedded broker state %s: %w", filepath.Base(path), err)
	}
	return nil
}
