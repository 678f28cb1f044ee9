// Command slack-receiver stands in for a Slack incoming webhook in the demo: it answers "ok" and
// prints each message as Slack would show it (the Block Kit text), so the demo can show the alerts
// offline.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
)

type text struct {
	Text string `json:"text"`
}

type block struct {
	Type     string `json:"type"`
	Text     *text  `json:"text"`
	Elements []text `json:"elements"`
	Fields   []text `json:"fields"`
}

type message struct {
	Text   string  `json:"text"`
	Blocks []block `json:"blocks"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	portFile := flag.String("port-file", "", "write the chosen port here")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *portFile != "" {
		port := ln.Addr().(*net.TCPAddr).Port
		if err := os.WriteFile(*portFile, []byte(fmt.Sprint(port)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var m message
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		fmt.Println(render(m))
		_, _ = io.WriteString(w, "ok")
	})))
}

func render(m message) string {
	var b strings.Builder
	b.WriteString("┌─ Slack ─────────────────────────────────────────────\n")
	for _, bl := range m.Blocks {
		var lines []string
		if bl.Text != nil {
			lines = append(lines, bl.Text.Text)
		}
		for _, f := range bl.Fields {
			lines = append(lines, f.Text)
		}
		for _, e := range bl.Elements {
			lines = append(lines, e.Text)
		}
		for _, l := range lines {
			for _, line := range strings.Split(l, "\n") {
				b.WriteString("│ " + line + "\n")
			}
		}
	}
	if len(m.Blocks) == 0 {
		b.WriteString("│ " + m.Text + "\n")
	}
	b.WriteString("└─────────────────────────────────────────────────────")
	return b.String()
}
