// Checks IntentGate checkpoints and proofs with Go's own sumdb packages
// (golang.org/x/mod/sumdb/note and sumdb/tlog), an implementation the gateway's
// authors did not write.
//
//	go run verify.go bundle.json
//
// The bundle is JSON: {"verifier_key", "checkpoint", "inclusions": [{"leaf_index",
// "chain_hash" (hex), "proof" (base64 hashes)}], "old_checkpoint", "consistency_proof"}.
// Prints one line per check; exits 1 at the first that fails.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	LeafIndex int64    `json:"leaf_index"`
	ChainHash string   `json:"chain_hash"`
	Proof     []string `json:"proof"`
}

type bundle struct {
	VerifierKey      string      `json:"verifier_key"`
	Checkpoint       string      `json:"checkpoint"`
	Inclusions       []inclusion `json:"inclusions"`
	OldCheckpoint    string      `json:"old_checkpoint"`
	ConsistencyProof []string    `json:"consistency_proof"`
}

type head struct {
	origin string
	size   int64
	root   tlog.Hash
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

func open(text string, verifiers note.Verifiers) head {
	n, err := note.Open([]byte(text), verifiers)
	if err != nil {
		fail("note.Open: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		fail("checkpoint has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		fail("checkpoint size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root %q: %v", lines[2], err)
	}
	return head{lines[0], size, root}
}

func hashes(encoded []string) []tlog.Hash {
	out := make([]tlog.Hash, len(encoded))
	for i, e := range encoded {
		h, err := tlog.ParseHash(e)
		if err != nil {
			fail("proof hash %q: %v", e, err)
		}
		out[i] = h
	}
	return out
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: verify bundle.json")
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("read: %v", err)
	}
	var b bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		fail("parse bundle: %v", err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(b.VerifierKey))
	if err != nil {
		fail("verifier key: %v", err)
	}
	verifiers := note.VerifierList(verifier)
	cp := open(b.Checkpoint, verifiers)
	fmt.Printf("ok checkpoint %s size %d root %s\n", cp.origin, cp.size, base64.StdEncoding.EncodeToString(cp.root[:]))
	for _, inc := range b.Inclusions {
		data, err := hex.DecodeString(inc.ChainHash)
		if err != nil {
			fail("chain hash %q: %v", inc.ChainHash, err)
		}
		proof := tlog.RecordProof(hashes(inc.Proof))
		if err := tlog.CheckRecord(proof, cp.size, cp.root, inc.LeafIndex, tlog.RecordHash(data)); err != nil {
			fail("inclusion of leaf %d: %v", inc.LeafIndex, err)
		}
		fmt.Printf("ok inclusion leaf %d\n", inc.LeafIndex)
	}
	if b.OldCheckpoint != "" {
		old := open(b.OldCheckpoint, verifiers)
		if old.origin != cp.origin {
			fail("origins differ: %q and %q", old.origin, cp.origin)
		}
		proof := tlog.TreeProof(hashes(b.ConsistencyProof))
		if err := tlog.CheckTree(proof, cp.size, cp.root, old.size, old.root); err != nil {
			fail("consistency %d -> %d: %v", old.size, cp.size, err)
		}
		fmt.Printf("ok consistency %d -> %d\n", old.size, cp.size)
	}
}
