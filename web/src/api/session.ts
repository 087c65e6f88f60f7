// Where the console keeps what it remembers. The API key lives in sessionStorage only (SPEC §10:
// never a cookie, never a URL): closing the tab forgets it. The org and workspace choices are
// remembered per browser (localStorage); they are not secrets.
const KEY = "capstan.apiKey";
/** Why the API signed the user out (a 401's detail), shown on the sign-in screen. */
const REFUSAL = "capstan.refusal";
const ORG = "capstan.org";
const workspaceKey = (org: string) => `capstan.workspace.${org}`;

export const session = {
  key(): string | null {
    return sessionStorage.getItem(KEY);
  },
  signIn(key: string): void {
    sessionStorage.setItem(KEY, key);
    sessionStorage.removeItem(REFUSAL);
  },
  /** `refusal`: the API's reason when a 401 signed the user out; none when they chose to. */
  signOut(refusal?: string): void {
    sessionStorage.removeItem(KEY);
    if (refusal) sessionStorage.setItem(REFUSAL, refusal);
    else sessionStorage.removeItem(REFUSAL);
  },
  /** The reason of the last sign-out a 401 caused, until the next sign-in. */
  refusal(): string | undefined {
    return sessionStorage.getItem(REFUSAL) ?? undefined;
  },
};

export const preferences = {
  org(): string | null {
    return localStorage.getItem(ORG);
  },
  setOrg(org: string): void {
    localStorage.setItem(ORG, org);
  },
  workspace(org: string): string | null {
    return localStorage.getItem(workspaceKey(org));
  },
  setWorkspace(org: string, workspace: string): void {
    localStorage.setItem(workspaceKey(org), workspace);
  },
};
