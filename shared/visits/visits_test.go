package visits

import (
	"testing"
	"time"
)

func TestDeviceClass(t *testing.T) {
	for _, test := range []struct {
		userAgent, want string
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36", DevicePC},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", DevicePC},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36", DeviceMobile},
		{"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/604.1", DeviceMobile},
		{"Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) MicroMessenger/8.0.47", DeviceMobile},
		{"Mozilla/5.0 (Phone; OpenHarmony 4.0) AppleWebKit/537.36 (KHTML, like Gecko) HarmonyOS", DeviceMobile},
		{"Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0 Safari/537.36 MicroMessenger/7.0.20 WindowsWechat(0x63090a13)", DevicePC},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) MicroMessenger/6.8.0 MacWechat/3.8.7", DevicePC},
		{"", DevicePC},
	} {
		if got := DeviceClass(test.userAgent); got != test.want {
			t.Errorf("DeviceClass(%q) = %s, want %s", test.userAgent, got, test.want)
		}
	}
}

func TestKnownStage(t *testing.T) {
	for _, stage := range Stages {
		if !KnownStage(stage) {
			t.Errorf("KnownStage(%q) = false", stage)
		}
	}
	for _, stage := range []string{"", "payment", "Registration"} {
		if KnownStage(stage) {
			t.Errorf("KnownStage(%q) = true", stage)
		}
	}
}

func TestDayInShanghai(t *testing.T) {
	// 17:00 UTC on 31 December is 01:00 on 1 January in Shanghai.
	moment := time.Date(2025, 12, 31, 17, 0, 0, 0, time.UTC)
	if got := Day(moment); got != "20260101" {
		t.Errorf("Day = %s, want 20260101", got)
	}
	if got := Year(moment); got != "2026" {
		t.Errorf("Year = %s, want 2026", got)
	}
}
