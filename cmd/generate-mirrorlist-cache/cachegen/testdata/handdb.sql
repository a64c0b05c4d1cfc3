-- A MirrorManager2 database small enough to check by hand, with one host
-- for each case the generator distinguishes. Countries and addresses are
-- those of the fixtures' tiny GeoIP database: DE 80.0.0.0/8, FR 90/8,
-- US 20/8 (ASN 7018 on 20.64.0.0/10), CA 24/8, TR 88/8.
--
-- What each host should become (handdb.snapshot.txt is the generated
-- snapshot, written out; the .txt answers are what the server says):
--
--  id name            case                                   Global  ByHostId
--   1 de-public       public, up to date everywhere          yes     yes
--   2 de-private      host.private; netblock 80.10.0.0/16;    no      yes
--                     Internet2 with internet2_clients
--   3 de-siteprivate  site.private (host itself public)      no      yes
--   4 fr-always       always_up2date for Fedora, no dir rows yes     yes (Fedora)
--   5 us-clamped      country 'us', bandwidth 20000 → 10000  yes     yes
--   6 us-asn          asn 7018, asn_clients; bandwidth NULL  yes     yes
--   7 us-allowed      country_allowed us, ca                 yes     yes
--   8 ca-netblocks    netblocks: dotted netmask, bare        yes     yes
--                     address, a name, and garbage
--   9 de-user-off     host.user_active false                 no      no
--  10 fr-admin-off    host.admin_active false                no      no
--  11 us-site-off     site.admin_active false                no      no
--  12 de-stale        not up to date on updates              yes     releases only
--  13 us-internet2    public Internet2 host                  yes     yes
--  14 ca-private-url  its only URL is private                no      no (no public URL)
--  15 peer-asn        asn 1, peer ASN 680; categories 3, 4   yes     yes (Alt, both
--                     and 5 (another top directory)                  categories' URLs)
--  16 de-spins        only category 4, of a shared directory yes     yes (Alt spins)
--  17 nocountry       country ''                             yes     yes (Alt)
--  18 tr-private-url  TR's only host; its only URL private   no      no
--
-- The Alt categories (3 and 4, both with top directory pub/alt) share
-- pub/alt and the spins directories; category 5 (top directory pub) has
-- one of them too, and is left out there. pub/alt/iot is exclusive to
-- host 15 (directory_exclusive_host); pub/alt/unserved has no up-to-date
-- host.

INSERT INTO site (id, name, private, admin_active, user_active) VALUES
	(1, 'Site DE', false, true, true),
	(2, 'Site DE private', false, true, true),
	(3, 'Site private', true, true, true),
	(4, 'Site FR', false, true, true),
	(5, 'Site US', false, true, true),
	(6, 'Site CA', false, true, true),
	(7, 'Site US off', false, false, true),
	(8, 'Site Alt', false, true, true);

INSERT INTO host (id, name, site_id, admin_active, user_active, country, bandwidth_int, private,
	internet2, internet2_clients, asn, asn_clients, max_connections) VALUES
	(1, 'de-public.example.org', 1, true, true, 'DE', 1000, false, false, false, NULL, true, 1),
	(2, 'de-private.example.org', 2, true, true, 'DE', 50, true, true, true, NULL, true, 2),
	(3, 'de-siteprivate.example.org', 3, true, true, 'DE', 100, false, false, false, NULL, true, 1),
	(4, 'fr-always.example.org', 4, true, true, 'FR', 500, false, false, false, NULL, true, 1),
	(5, 'us-clamped.example.com', 5, true, true, 'us', 20000, false, false, false, NULL, true, 1),
	(6, 'us-asn.example.com', 5, true, true, 'US', NULL, false, false, false, 7018, true, 8),
	(7, 'us-allowed.example.com', 5, true, true, 'US', 0, false, false, false, NULL, true, 1),
	(8, 'ca-netblocks.example.ca', 6, true, true, 'CA', 200, false, false, false, 812, false, 1),
	(9, 'de-user-off.example.org', 1, true, false, 'DE', 300, false, false, false, NULL, true, 1),
	(10, 'fr-admin-off.example.org', 4, false, true, 'FR', 300, false, false, false, NULL, true, 1),
	(11, 'us-site-off.example.com', 7, true, true, 'US', 300, false, false, false, NULL, true, 1),
	(12, 'de-stale.example.org', 1, true, true, 'DE', 400, false, false, false, NULL, true, 1),
	(13, 'us-internet2.example.edu', 5, true, true, 'US', 700, false, true, false, NULL, true, 1),
	(14, 'ca-private-url.example.ca', 6, true, true, 'CA', 100, false, false, false, NULL, true, 1),
	(15, 'peer-asn.example.com', 8, true, true, 'US', 1000, false, false, false, 1, true, 1),
	(16, 'de-spins.example.org', 8, true, true, 'DE', 100, false, false, false, NULL, true, 1),
	(17, 'nocountry.example.net', 8, true, true, '', 100, false, false, false, NULL, true, 1),
	(18, 'tr-private-url.example.net', 8, true, true, 'TR', 100, false, false, false, NULL, true, 1);

-- Host 15 serves ASN 680's clients too (80.10.0.0/16, in DE); host 8 does not serve ASN
-- clients, so its peer ASN counts for nothing.
INSERT INTO host_peer_asn (id, host_id, asn, name) VALUES
	(1, 15, 680, 'a peer network'),
	(2, 8, 3215, 'ignored: asn_clients is false');

-- The generator does not read locations (LocationCache is not written).
INSERT INTO location (id, name) VALUES (1, 'Lab');
INSERT INTO host_location (id, location_id, host_id) VALUES (1, 1, 2);

-- Host 9 is inactive: its netblock and country restriction are dropped.
INSERT INTO host_netblock (id, host_id, netblock, name) VALUES
	(1, 2, '80.10.0.0/16', 'private net'),
	(2, 8, '24.5.0.0/255.255.0.0', 'dotted netmask'),
	(3, 8, ' 24.6.7.8 ', 'bare address, spaces'),
	(4, 8, 'mirror-net.example', 'a name: resolves to 24.9.9.9 in the test'),
	(5, 8, 'not a netblock', 'garbage: skipped with a warning'),
	(6, 9, '80.99.0.0/16', 'inactive host'),
	(7, 1, '80.10.20.7/24', 'host bits set: masked to 80.10.20.0/24');

INSERT INTO host_country_allowed (id, host_id, country) VALUES
	(1, 7, 'us'),
	(2, 7, 'ca'),
	(3, 9, 'de');

INSERT INTO directory (id, name) VALUES
	(1, 'pub/fedora/linux'),
	(2, 'pub/fedora/linux/releases/41/Everything/x86_64/os'),
	(3, 'pub/fedora/linux/releases/41/Everything/x86_64/os/repodata'),
	(4, 'pub/fedora/linux/updates/41/Everything/x86_64'),
	(5, 'pub/fedora/linux/updates/41/Everything/x86_64/repodata'),
	(6, 'pub/epel'),
	(7, 'pub/epel/10.1/Everything/x86_64'),
	(8, 'pub/epel/10.1/Everything/x86_64/repodata'),
	(9, 'pub/alt/uncategorised'),
	(10, 'pub/alt'),
	(11, 'pub/alt/iot/41/x86_64'),
	(12, 'pub/alt/spins/41/x86_64'),
	(13, 'pub/alt/spins/41/x86_64/repodata'),
	(14, 'pub/alt/unserved/41/x86_64'),
	(15, 'pub/alt/unserved/41/x86_64/repodata'),
	(16, 'pub');

INSERT INTO category (id, name, topdir_id) VALUES
	(1, 'Fedora Linux', 1),
	(2, 'Fedora EPEL', 6),
	(3, 'Fedora Alt', 10),
	(4, 'Fedora Alt Spins', 10),
	(5, 'Fedora Everything', 16);

-- Directory 9 is in no category: no MirrorListCache entry, but its file
-- details are still written.
INSERT INTO category_directory (category_id, directory_id) VALUES
	(1, 1), (1, 2), (1, 3), (1, 4), (1, 5),
	(2, 6), (2, 7), (2, 8),
	(3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15),
	(4, 10), (4, 12), (4, 13),
	(5, 16), (5, 12);

-- Only host 15 may serve pub/alt/iot, although host 17 is up to date there.
INSERT INTO directory_exclusive_host (id, directory_id, host_id) VALUES (1, 11, 15);

-- Host category ids are host × 10 + category.
INSERT INTO host_category (id, host_id, category_id, always_up2date) VALUES
	(11, 1, 1, false), (12, 1, 2, false),
	(21, 2, 1, false),
	(31, 3, 1, false),
	(41, 4, 1, true), (42, 4, 2, false),
	(51, 5, 1, false), (52, 5, 2, false),
	(61, 6, 1, false),
	(71, 7, 1, false),
	(81, 8, 1, false),
	(91, 9, 1, false),
	(101, 10, 1, false),
	(111, 11, 1, false),
	(121, 12, 1, false),
	(131, 13, 1, false),
	(141, 14, 1, false),
	(153, 15, 3, false), (154, 15, 4, false), (155, 15, 5, false),
	(164, 16, 4, false),
	(173, 17, 3, false),
	(181, 18, 1, false);

-- hcurl ids are host × 100 + n.
INSERT INTO host_category_url (id, host_category_id, url, private) VALUES
	(100, 11, 'https://de-public.example.org/fedora', false),
	(101, 11, 'http://de-public.example.org/fedora', false),
	(102, 11, 'rsync://de-public.example.org/fedora', false),
	(103, 12, 'https://de-public.example.org/epel', false),
	(200, 21, 'https://de-private.example.org/fedora', false),
	(201, 21, 'rsync://de-private.example.org/fedora-private', true),
	(300, 31, 'https://de-siteprivate.example.org/fedora', false),
	(400, 41, 'https://fr-always.example.org/fedora', false),
	(401, 42, 'https://fr-always.example.org/epel', false),
	(500, 51, 'http://us-clamped.example.com/fedora', false),
	(501, 51, 'https://us-clamped.example.com/fedora', false),
	(502, 52, 'https://us-clamped.example.com/epel', false),
	(600, 61, 'https://us-asn.example.com/pub/fedora/linux/', false),
	(700, 71, 'https://us-allowed.example.com/fedora', false),
	(800, 81, 'https://ca-netblocks.example.ca/fedora', false),
	(900, 91, 'https://de-user-off.example.org/fedora', false),
	(1000, 101, 'https://fr-admin-off.example.org/fedora', false),
	(1100, 111, 'https://us-site-off.example.com/fedora', false),
	(1200, 121, 'https://de-stale.example.org/fedora', false),
	(1300, 131, 'https://us-internet2.example.edu/fedora', false),
	(1400, 141, 'https://ca-private-url.example.ca/fedora', true),
	(1500, 153, 'https://peer-asn.example.com/alt', false),
	(1501, 154, 'http://peer-asn.example.com/alt-spins', false),
	(1502, 155, 'https://peer-asn.example.com/pub', false),
	(1600, 164, 'https://de-spins.example.org/alt', false),
	(1700, 173, 'https://nocountry.example.net/alt', false),
	(1800, 181, 'https://tr-private-url.example.net/fedora', true);

-- Up-to-date marks: every host category but 41 (always up to date) and 42
-- (never marked) on every directory of its category, except host 12's
-- updates directories and everyone's pub/alt/unserved ones, marked not up
-- to date.
INSERT INTO host_category_dir (host_category_id, directory_id, path, up2date)
SELECT hc.id, cd.directory_id, substr(d.name, length(t.name) + 2),
	NOT (hc.host_id = 12 AND d.name LIKE 'pub/fedora/linux/updates/%') AND d.name NOT LIKE 'pub/alt/unserved/%'
FROM host_category hc
JOIN category_directory cd ON cd.category_id = hc.category_id
JOIN directory d ON d.id = cd.directory_id
JOIN category c ON c.id = hc.category_id
JOIN directory t ON t.id = c.topdir_id
WHERE hc.id NOT IN (41, 42);

INSERT INTO arch (id, name) VALUES (1, 'x86_64'), (2, 'aarch64');
INSERT INTO version (id, name) VALUES (1, '41'), (2, '10.1');

-- fedora-38 is disabled and its directory is gone; rawhide-noversion has
-- no version and no-prefix no prefix: neither is a RepoArchToDirectoryName
-- key. updates-testing-f41 is disabled but still listed.
INSERT INTO repository (id, name, prefix, category_id, version_id, arch_id, directory_id, disabled) VALUES
	(1, 'Fedora 41 x86_64', 'fedora-41', 1, 1, 1, 2, false),
	(2, 'Fedora 41 updates x86_64', 'updates-released-f41', 1, 1, 1, 4, false),
	(3, 'Fedora 41 updates testing x86_64', 'updates-testing-f41', 1, 1, 1, 4, true),
	(4, 'EPEL 10.1 x86_64', 'epel-10.1', 2, 2, 1, 7, false),
	(5, 'Fedora 38 x86_64', 'fedora-38', 1, NULL, 1, NULL, true),
	(6, 'Rawhide without a version', 'rawhide-noversion', 1, NULL, 1, 2, false),
	(7, 'No prefix', NULL, 1, 1, 2, 2, false),
	(8, 'Fedora 41 updates testing aarch64', 'updates-testing-f41', 1, 1, 2, 4, true),
	(9, 'Alt IoT 41 x86_64', 'alt-iot-41', 3, 1, 1, 11, false),
	(10, 'Alt Spins 41 x86_64', 'alt-spins-41', 4, 1, 1, 12, false),
	(11, 'Alt unserved 41 x86_64', 'alt-unserved-41', 3, 1, 1, 14, false);

INSERT INTO repository_redirect (id, from_repo, to_repo) VALUES
	(1, 'epel-10', 'epel-10.1'),
	(2, 'epel-9.9', NULL);

INSERT INTO country_continent_redirect (id, country, continent) VALUES (1, 'TR', 'EU');

-- A dotted netmask is read as 6.0.0.0/8, a prefix with host bits set as
-- its network; row 4 repeats row 2's network and row 5 is no address
-- block: both are skipped with a warning.
INSERT INTO netblock_country (id, netblock, country) VALUES
	(1, '24.200.0.0/16', 'US'),
	(2, '6.0.0.0/255.0.0.0', 'FR'),
	(3, '203.0.113.7/24', 'DE'),
	(4, '6.0.0.0/8', 'US'),
	(5, 'not a netblock', 'US');

-- repomd.xml of the release: the newest version, an older one (an
-- alternate) and one of unknown time (last). The updates have three
-- versions; EPEL's one has a sha256 only. The Alt spins' repomd.xml has
-- empty sha1 and md5, which are left unset.
INSERT INTO file_detail (id, directory_id, filename, timestamp, size, sha1, md5, sha256, sha512) VALUES
	(1, 3, 'repomd.xml', 1732400000, 4000, 'a1', 'a2', 'a3', 'a4'),
	(2, 3, 'repomd.xml', 1732480000, 4611, 'b1', 'b2', 'b3', 'b4'),
	(3, 3, 'repomd.xml', NULL, NULL, NULL, NULL, 'c3', NULL),
	(4, 5, 'repomd.xml', 1732300000, 3000, NULL, NULL, 'd3', NULL),
	(5, 5, 'repomd.xml', 1732470000, 3100, NULL, NULL, 'e3', NULL),
	(6, 5, 'repomd.xml', 1732460000, 3050, NULL, NULL, 'f3', NULL),
	(7, 8, 'repomd.xml', 1732450000, 2000, NULL, NULL, 'g3', NULL),
	(8, 9, 'foo.xml', 1732000000, 10, 'h1', NULL, NULL, NULL),
	(9, 5, 'updateinfo.xml.zck', 1732470000, 99999, NULL, NULL, 'i3', NULL),
	(10, 13, 'repomd.xml', 1732470000, 1234, '', '', 'j3', NULL),
	(11, 15, 'repomd.xml', 1732470000, 999, NULL, NULL, 'k3', NULL);
