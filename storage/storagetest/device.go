package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/torii-idp/torii/storage"
)

func sampleDevice(id, userCode string) storage.DeviceRequest {
	now := baseTime()
	return storage.DeviceRequest{
		ID:                  id,
		UserCode:            userCode,
		ClientID:            "kubectl",
		Scopes:              []string{"openid", "email", "offline_access"},
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Status:              storage.DevicePending,
		Interval:            5 * time.Second,
		CreatedAt:           now,
		Expiry:              now.Add(5 * time.Minute),
	}
}

func testDeviceCRUD(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	want := sampleDevice("dev-1", "uc-1")
	if err := s.CreateDeviceRequest(ctx, want); err != nil {
		t.Fatalf("CreateDeviceRequest: %v", err)
	}
	if err := s.CreateDeviceRequest(ctx, sampleDevice("dev-1", "uc-other")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("CreateDeviceRequest with a taken id = %v; want ErrAlreadyExists", err)
	}
	if err := s.CreateDeviceRequest(ctx, sampleDevice("dev-other", "uc-1")); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("CreateDeviceRequest with a taken user code = %v; want ErrAlreadyExists", err)
	}
	if _, err := s.GetDeviceRequest(ctx, "dev-other"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the refused request was stored anyway (GetDeviceRequest = %v)", err)
	}
	got, err := s.GetDeviceRequest(ctx, "dev-1")
	if err != nil {
		t.Fatalf("GetDeviceRequest: %v", err)
	}
	assertEqual(t, "created device request", got, want)
	got, err = s.GetDeviceRequestByUserCode(ctx, "uc-1")
	if err != nil {
		t.Fatalf("GetDeviceRequestByUserCode: %v", err)
	}
	assertEqual(t, "device request by user code", got, want)

	approved := want
	err = s.UpdateDeviceRequest(ctx, "dev-1", func(d storage.DeviceRequest) (storage.DeviceRequest, error) {
		d.ID, d.UserCode = "ignored", "ignored too"
		d.Status = storage.DeviceApproved
		d.LastPoll = baseTime().Add(7 * time.Second)
		d.Interval = 10 * time.Second
		d.ConnectorID = "ldap"
		d.ConnectorData = []byte{0, 1, 0xfe}
		d.Claims = sampleClaims()
		d.AuthTime = baseTime().Add(time.Minute)
		d.SessionID = "sess-1"
		d.GrantID = "grant-1"
		approved = d
		return d, nil
	})
	if err != nil {
		t.Fatalf("UpdateDeviceRequest: %v", err)
	}
	approved.ID, approved.UserCode = "dev-1", "uc-1"
	got, err = s.GetDeviceRequestByUserCode(ctx, "uc-1")
	if err != nil {
		t.Fatalf("GetDeviceRequestByUserCode after update: %v", err)
	}
	assertEqual(t, "updated device request", got, approved)
	if _, err := s.GetDeviceRequestByUserCode(ctx, "ignored too"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an update changed the user code (lookup by the new one = %v)", err)
	}

	err = s.UpdateDeviceRequest(ctx, "dev-1", func(d storage.DeviceRequest) (storage.DeviceRequest, error) {
		d.Status = storage.DeviceIssued
		return d, errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("aborted UpdateDeviceRequest = %v; want the update's own error", err)
	}
	if got, _ := s.GetDeviceRequest(ctx, "dev-1"); got.Status != storage.DeviceApproved {
		t.Errorf("an aborted update was written: status %q", got.Status)
	}
	if err := s.UpdateDeviceRequest(ctx, "nope", func(d storage.DeviceRequest) (storage.DeviceRequest, error) { return d, nil }); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UpdateDeviceRequest of an unknown id = %v; want ErrNotFound", err)
	}
	if _, err := s.GetDeviceRequestByUserCode(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetDeviceRequestByUserCode of an unknown code = %v; want ErrNotFound", err)
	}
}

// Two replicas' polls of one approved request race to hand out its
// tokens; exactly one may win.
func testDeviceConcurrentIssue(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	d := sampleDevice("dev-race", "uc-race")
	d.Status = storage.DeviceApproved
	if err := s.CreateDeviceRequest(ctx, d); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.UpdateDeviceRequest(ctx, "dev-race", func(d storage.DeviceRequest) (storage.DeviceRequest, error) {
				if d.Status != storage.DeviceApproved {
					return d, errAbort
				}
				d.Status, d.GrantID = storage.DeviceIssued, fmt.Sprint("grant-", i)
				return d, nil
			})
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if !errors.Is(err, errAbort) {
				t.Errorf("UpdateDeviceRequest: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d polls issued the tokens; want exactly 1", won)
	}
}

func testDeviceGarbageCollect(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	now := baseTime()
	for id, exp := range map[string]time.Time{"dev-old": now.Add(-time.Second), "dev-live": now.Add(time.Minute), "dev-now": now} {
		d := sampleDevice(id, "uc-"+id)
		d.Expiry = exp
		if err := s.CreateDeviceRequest(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.GarbageCollect(ctx, now)
	if err != nil {
		t.Fatalf("GarbageCollect: %v", err)
	}
	if res.DeviceRequests != 1 {
		t.Errorf("GarbageCollect removed %d device requests; want 1", res.DeviceRequests)
	}
	if _, err := s.GetDeviceRequest(ctx, "dev-old"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired device request still there: %v", err)
	}
	if _, err := s.GetDeviceRequestByUserCode(ctx, "uc-dev-old"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("expired device request still found by user code: %v", err)
	}
	// The collected request's user code is free again.
	if err := s.CreateDeviceRequest(ctx, sampleDevice("dev-new", "uc-dev-old")); err != nil {
		t.Errorf("reusing a collected user code: %v", err)
	}
	for _, id := range []string{"dev-live", "dev-now"} {
		if _, err := s.GetDeviceRequest(ctx, id); err != nil {
			t.Errorf("%s was collected: %v", id, err)
		}
	}
}
