package testenv

import (
	"encoding/json"
	"regexp"
	"strings"
)

var (
	knownFactRE = regexp.MustCompile(`^- (f\d+): (.*)$`)
	iAmRE       = regexp.MustCompile(`^(?:I'm|I am)\s+(.+)$`)
	iVerbRE     = regexp.MustCompile(`^I\s+(\w+)\s*(.*)$`)
	myRE        = regexp.MustCompile(`^My\s+(.+)$`)
	verbs       = map[string]string{"am": "is", "have": "has", "do": "does", "go": "goes"}
)

// ThirdPerson turns "I prefer async Python." into "prefers async Python";
// "" when the sentence is not about the speaker.
func ThirdPerson(sentence string) string {
	s := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(sentence), ".!?"))
	if m := iAmRE.FindStringSubmatch(s); m != nil {
		return "is " + m[1]
	}
	if m := iVerbRE.FindStringSubmatch(s); m != nil {
		verb, rest := m[1], m[2]
		lower := strings.ToLower(verb)
		switch {
		case verbs[lower] != "":
			verb = verbs[lower]
		case strings.HasSuffix(verb, "s") || strings.HasSuffix(verb, "sh") || strings.HasSuffix(verb, "ch") || strings.HasSuffix(verb, "x"):
			verb += "es"
		case strings.HasSuffix(verb, "y") && len(verb) > 1 && !strings.ContainsRune("aeiou", rune(verb[len(verb)-2])):
			verb = verb[:len(verb)-1] + "ies"
		default:
			verb += "s"
		}
		return strings.TrimSpace(verb + " " + rest)
	}
	if m := myRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

func category(fact string) string {
	first, _, _ := strings.Cut(fact, " ")
	switch first {
	case "prefers", "likes", "loves", "hates", "dislikes", "enjoys", "wants":
		return "preference"
	case "is", "lives", "has":
		return "attribute"
	case "uses", "knows", "speaks", "works", "writes":
		return "skill"
	}
	return "other"
}

// sentences splits text after '.', '!' or '?' followed by white space, and
// at line breaks.
func sentences(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		start := 0
		for i := 0; i < len(line); i++ {
			if strings.ContainsRune(".!?", rune(line[i])) && i+1 < len(line) && (line[i+1] == ' ' || line[i+1] == '\t') {
				out = append(out, line[start:i+1])
				start = i + 1
			}
		}
		out = append(out, line[start:])
	}
	return out
}

// ExtractionAnswer is what the fake extraction model answers to one of
// memorid's extraction requests (prompts/extraction.v1): a fact per
// first-person sentence of the turn's user text, "same" when a known fact
// (listed as "- fN: text") says it already.
func ExtractionAnswer(body map[string]any) string {
	context := ""
	messages, _ := body["messages"].([]any)
	for _, m := range messages {
		msg, _ := m.(map[string]any)
		if msg["role"] == "user" {
			context, _ = msg["content"].(string)
		}
	}
	known := map[string]string{}
	for _, line := range strings.Split(context, "\n") {
		if m := knownFactRE.FindStringSubmatch(line); m != nil {
			known[strings.ToLower(strings.TrimSpace(m[2]))] = m[1]
		}
	}
	turn := context
	if _, after, found := strings.Cut(context, "The turn:\n"); found {
		turn = after
	}
	var userLines []string
	speaking := false
	for _, line := range strings.Split(turn, "\n") {
		switch {
		case strings.HasPrefix(line, "user: "):
			speaking = true
			userLines = append(userLines, strings.TrimPrefix(line, "user: "))
		case strings.HasPrefix(line, "assistant: "):
			speaking = false
		case speaking:
			userLines = append(userLines, line)
		}
	}
	facts := []map[string]string{}
	for _, sentence := range sentences(strings.Join(userLines, " ")) {
		content := ThirdPerson(sentence)
		if content == "" {
			continue
		}
		existing := known[strings.ToLower(content)]
		action := "new"
		if existing != "" {
			action = "same"
		}
		facts = append(facts, map[string]string{"content": content, "category": category(content), "action": action, "existing_id": existing})
	}
	summary := strings.Join(userLines, " ")
	if len(summary) > 200 {
		summary = summary[:200]
	}
	answer, _ := json.Marshal(map[string]any{"facts": facts, "triples": []any{}, "process_attributes": []any{}, "summary": summary})
	return string(answer)
}
