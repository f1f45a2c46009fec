package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookledger/hookledger/provider/messagemedia"
	"github.com/hookledger/hookledger/provider/vonage"
)

// Environment variables the provider set-up commands read. Credentials come
// only from the environment, never from flags, so they stay out of shell
// history and process listings.
const (
	envMessageMediaAPIKey    = "MESSAGEMEDIA_API_KEY"
	envMessageMediaAPISecret = "MESSAGEMEDIA_API_SECRET"
	envMessageMediaAPIBase   = "MESSAGEMEDIA_API_BASE"
	envVonageAPIKey          = "VONAGE_API_KEY"
	envVonageAPISecret       = "VONAGE_API_SECRET"
	envVonageAPIBase         = "VONAGE_API_BASE"
)

// providerAPITimeout bounds each provider API request. The commands are run
// by hand; an API that has not answered in this time is better reported
// than waited on.
const providerAPITimeout = 30 * time.Second

// lookupEnvFunc reads one environment variable (os.LookupEnv in production).
type lookupEnvFunc func(string) (string, bool)

// newMessageMediaCommand is `hookledger messagemedia`: management of the
// signature keys MessageMedia signs callbacks with (docs/operations.md#provider-set-up-commands).
func newMessageMediaCommand(lookupEnv lookupEnvFunc) *cobra.Command {
	var apiBase string
	root := &cobra.Command{
		Use:   "messagemedia",
		Short: "MessageMedia set-up: signature keys",
		Long: "MessageMedia set-up. Credentials come from " + envMessageMediaAPIKey + " and " +
			envMessageMediaAPISecret + " (HTTP Basic auth against the key API).",
	}
	root.PersistentFlags().StringVar(&apiBase, "api-base", "",
		"key API base URL (default $"+envMessageMediaAPIBase+", else "+messagemedia.DefaultKeyAPIBase+")")

	client := func() (*messagemedia.KeyAPIClient, error) {
		base, err := resolveAPIBase(apiBase, lookupEnv, envMessageMediaAPIBase, messagemedia.DefaultKeyAPIBase)
		if err != nil {
			return nil, err
		}
		key, secret, err := credentials(lookupEnv, envMessageMediaAPIKey, envMessageMediaAPISecret, "MessageMedia")
		if err != nil {
			return nil, err
		}
		return messagemedia.NewKeyAPIClient(base, key, secret, &http.Client{Timeout: providerAPITimeout})
	}
	// explain adds which variables to check to the errors a user can fix.
	explain := func(err error) error {
		var apiErr *messagemedia.KeyAPIError
		switch {
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("%w (check %s and %s)", err, envMessageMediaAPIKey, envMessageMediaAPISecret)
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden:
			// MessageMedia documents 403 as "feature not enabled".
			return fmt.Errorf("%w (signature keys may not be enabled for this account; ask MessageMedia support)", err)
		}
		return err
	}

	keys := &cobra.Command{
		Use:   "keys",
		Short: "Create, enable, show and disable the key MessageMedia signs callbacks with",
	}

	var digest string
	var enable bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a signature key pair; print its public key and config snippet",
		Long: "Create a signature key pair at MessageMedia (it keeps the private key) and print the public key " +
			"with the keys: entry for a messagemedia source. MessageMedia returns the public key only now.\n\n" +
			"Safe rotation: create, add the snippet to the config and reload, then `keys enable KEY_ID`. " +
			"--enable switches at once, so callbacks are rejected (unknown_key) until the config lists the key.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := client()
			if err != nil {
				return err
			}
			created, err := api.CreateKey(cmd.Context(), digest)
			if err != nil {
				return explain(err)
			}
			out := cmd.OutOrStdout()
			// The public key is printed before anything else can fail: the
			// API never returns it again.
			fmt.Fprintf(out, "Created MessageMedia signature key %s\n", created.KeyID)
			printKeyFields(out, created)
			if err := printPublicKey(out, created); err != nil {
				return err
			}
			if !enable {
				fmt.Fprintf(out, "\nNot enabled. Once every source lists it: hookledger messagemedia keys enable %s\n", created.KeyID)
				return nil
			}
			if _, err := api.EnableKey(cmd.Context(), created.KeyID); err != nil {
				return fmt.Errorf("key %s was created (printed above) but not enabled: %w", created.KeyID, explain(err))
			}
			fmt.Fprintf(out, "\nEnabled: MessageMedia now signs every callback with %s. Sources that do not list it reject them (unknown_key) until their config is updated and reloaded.\n", created.KeyID)
			return nil
		},
	}
	create.Flags().StringVar(&digest, "digest", messagemedia.DigestSHA256, "digest the key signs with: SHA224, SHA256 or SHA512")
	create.Flags().BoolVar(&enable, "enable", false, "enable the new key right away (retires the enabled one)")

	enableCmd := &cobra.Command{
		Use:   "enable KEY_ID",
		Short: "Enable a key: MessageMedia signs every callback with it from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := client()
			if err != nil {
				return err
			}
			enabled, err := api.EnableKey(cmd.Context(), args[0])
			if err != nil {
				return explain(err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Enabled MessageMedia signature key %s (confirmed by reading it back)\n", enabled.KeyID)
			printKeyFields(out, enabled)
			return nil
		},
	}

	enabledCmd := &cobra.Command{
		Use:   "enabled",
		Short: "Show the enabled key (and its config snippet when the API returns the public key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := client()
			if err != nil {
				return err
			}
			key, err := api.EnabledKey(cmd.Context())
			out := cmd.OutOrStdout()
			// "Nothing enabled" is an answer, not a failure of the command:
			// it exits 0 with a message saying what it means.
			if errors.Is(err, messagemedia.ErrNoEnabledKey) {
				fmt.Fprintln(out, "No MessageMedia signature key is enabled: callbacks arrive unsigned, and sources that list keys reject them (missing_signature).")
				return nil
			}
			if err != nil {
				return explain(err)
			}
			fmt.Fprintf(out, "Enabled MessageMedia signature key %s\n", key.KeyID)
			printKeyFields(out, key)
			return printPublicKey(out, key)
		},
	}

	disable := &cobra.Command{
		Use:   "disable",
		Short: "Disable the enabled key: MessageMedia stops signing callbacks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := client()
			if err != nil {
				return err
			}
			// Read first only to say which key is disabled; the API's DELETE
			// answers the same whether or not one was enabled.
			before, err := api.EnabledKey(cmd.Context())
			if err != nil && !errors.Is(err, messagemedia.ErrNoEnabledKey) {
				return explain(err)
			}
			if err := api.DisableEnabledKey(cmd.Context()); err != nil {
				return explain(err)
			}
			out := cmd.OutOrStdout()
			if before.KeyID == "" {
				fmt.Fprintln(out, "No MessageMedia signature key was enabled; nothing changed.")
			} else {
				fmt.Fprintf(out, "Disabled MessageMedia signature key %s.\n", before.KeyID)
			}
			fmt.Fprintln(out, "Callbacks now arrive unsigned; sources that list keys reject them (missing_signature).")
			return nil
		},
	}

	keys.AddCommand(create, enableCmd, enabledCmd, disable)
	root.AddCommand(keys)
	return root
}

// printKeyFields prints a key's description, one field a line.
func printKeyFields(out io.Writer, key messagemedia.SignatureKey) {
	cipher := key.Cipher
	if key.RSA != nil {
		cipher = fmt.Sprintf("%s (%d-bit)", cipher, key.RSA.N.BitLen())
	}
	fmt.Fprintf(out, "  digest:  %s\n  cipher:  %s\n", key.Digest, cipher)
	if key.Created != "" {
		fmt.Fprintf(out, "  created: %s\n", key.Created)
	}
	fmt.Fprintf(out, "  enabled: %t\n", key.Enabled)
}

// printPublicKey prints the public key as served and as PEM, then the
// source's keys: entry; or, when the API did not return the key, says so.
func printPublicKey(out io.Writer, key messagemedia.SignatureKey) error {
	if key.PublicKey == "" {
		fmt.Fprintln(out, "\nThe key API returns the public key only when a key is created, so no config snippet can be printed;")
		fmt.Fprintln(out, "the source's keys: entry needs the public_key that `hookledger messagemedia keys create` printed.")
		return nil
	}
	pemText, err := messagemedia.PublicKeyPEM(key.RSA)
	if err != nil {
		return err
	}
	snippet, err := key.ConfigSnippet()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nPublic key (base64 DER, as the key API returns it):\n%s\n", key.PublicKey)
	fmt.Fprintf(out, "\nPublic key (PEM):\n%s", pemText)
	fmt.Fprintf(out, "\nAdd to the messagemedia source's keys: list, then reload (SIGHUP or save the file):\n%s", snippet)
	return nil
}

// newVonageCommand is `hookledger vonage`: application settings hookledger
// depends on (docs/operations.md#provider-set-up-commands).
func newVonageCommand(lookupEnv lookupEnvFunc) *cobra.Command {
	var apiBase string
	root := &cobra.Command{
		Use:   "vonage",
		Short: "Vonage set-up: signed voice callbacks",
		Long: "Vonage set-up. Credentials come from " + envVonageAPIKey + " and " + envVonageAPISecret +
			" (HTTP Basic auth against the Applications API).",
	}
	root.PersistentFlags().StringVar(&apiBase, "api-base", "",
		"Applications API base URL (default $"+envVonageAPIBase+", else "+vonage.DefaultApplicationsAPIBase+")")

	var appID string
	enableSigned := &cobra.Command{
		Use:   "enable-signed-callbacks",
		Short: "Set capabilities.voice.signed_callbacks on an application, keeping every other field",
		Long: "Read the application, set capabilities.voice.signed_callbacks to true keeping every other field as read, " +
			"write it back and read it again to confirm. Applications without a voice capability are refused: " +
			"the flag is a voice setting, and adding a voice capability is a decision for the dashboard.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := resolveAPIBase(apiBase, lookupEnv, envVonageAPIBase, vonage.DefaultApplicationsAPIBase)
			if err != nil {
				return err
			}
			key, secret, err := credentials(lookupEnv, envVonageAPIKey, envVonageAPISecret, "Vonage")
			if err != nil {
				return err
			}
			api, err := vonage.NewApplicationsClient(base, key, secret, &http.Client{Timeout: providerAPITimeout})
			if err != nil {
				return err
			}
			change, err := api.EnableSignedCallbacks(cmd.Context(), appID)
			if err != nil {
				return explainVonage(err, change)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Vonage application %s %q\n", change.ApplicationID, change.Name)
			if !change.Written {
				fmt.Fprintln(out, "  capabilities.voice.signed_callbacks is already true; nothing written.")
			} else {
				previous := change.Previous
				if previous == "" {
					previous = "(absent)"
				}
				fmt.Fprintf(out, "  capabilities.voice.signed_callbacks: %s -> true (every other field written back as read)\n", previous)
				fmt.Fprintln(out, "  confirmed: reading the application again shows signed_callbacks: true")
			}
			fmt.Fprintln(out, "Voice callbacks are signed with the account's signature secret; list it in the vonage source's signature_secrets.")
			return nil
		},
	}
	enableSigned.Flags().StringVar(&appID, "app-id", "", "the application's id (a UUID)")
	_ = enableSigned.MarkFlagRequired("app-id") // cannot fail: the flag exists

	root.AddCommand(enableSigned)
	return root
}

// explainVonage adds what the user can do about the errors they can fix.
func explainVonage(err error, change vonage.SignedCallbacksChange) error {
	var apiErr *vonage.ApplicationsAPIError
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w (check %s and %s)", err, envVonageAPIKey, envVonageAPISecret)
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w (no such application in the account of %s; check --app-id)", err, envVonageAPIKey)
	case change.Written:
		// The write went through; say so, since the application may now
		// be in a state the user did not expect.
		return fmt.Errorf("the updated application was written: %w", err)
	}
	return err
}

// resolveAPIBase picks an API base URL: the --api-base flag, else the
// environment variable envName, else fallback. Plain http is accepted only
// for a loopback host (a local stub): anywhere else the Basic-auth
// credentials would cross the network in clear.
func resolveAPIBase(flagValue string, lookupEnv lookupEnvFunc, envName, fallback string) (string, error) {
	base, from := fallback, "default API base"
	if v, ok := lookupEnv(envName); ok && strings.TrimSpace(v) != "" {
		base, from = strings.TrimSpace(v), envName
	}
	if strings.TrimSpace(flagValue) != "" {
		base, from = strings.TrimSpace(flagValue), "--api-base"
	}
	u, err := url.Parse(base)
	if err != nil {
		// url.Error quotes the whole URL, which may hold credentials; keep
		// only the reason.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return "", fmt.Errorf("%s: not a valid URL: %w", from, err)
	}
	switch {
	case u.User != nil:
		// Do not echo the URL: it holds credentials.
		return "", fmt.Errorf("%s: must not contain credentials; they come from the environment", from)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.RawQuery != "", u.Fragment != "":
		return "", fmt.Errorf("%s: %q is not an http(s)://host[:port][/prefix] URL", from, base)
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return "", fmt.Errorf("%s: plain http is allowed only to a loopback host; use https", from)
	}
	return base, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentials reads an API key and secret from the environment; an unset or
// blank variable is an error naming it.
func credentials(lookupEnv lookupEnvFunc, keyVar, secretVar, provider string) (key, secret string, err error) {
	read := func(name, what string) (string, error) {
		v, _ := lookupEnv(name)
		if v = strings.TrimSpace(v); v == "" {
			return "", fmt.Errorf("%s is not set: export your %s API %s", name, provider, what)
		}
		return v, nil
	}
	if key, err = read(keyVar, "key"); err != nil {
		return "", "", err
	}
	if secret, err = read(secretVar, "secret"); err != nil {
		return "", "", err
	}
	return key, secret, nil
}
